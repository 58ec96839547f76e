"""Configuration of the planner SLM: model size, distillation, PPO fine-tuning, evaluation."""

from __future__ import annotations

from dataclasses import dataclass

#: Training strategies: distillation only, RL only, or one after the other (as in SmallPlan).
STRATEGIES: tuple[str, ...] = ("sft", "rl", "sft-rl", "rl-sft")
TEACHERS: tuple[str, ...] = ("oracle", "llm")


@dataclass(kw_only=True)
class PlannerConfig:
    """Settings of the planner SLM and its training.

    Attributes:
        n_layer: transformer blocks.
        n_head: attention heads per block.
        n_embd: hidden width (divisible by ``n_head``).
        max_tokens: longest serialised observation the model reads (longer ones keep their end,
            where the instruction header is re-attached; see :mod:`tokenizer`).
        dropout: dropout in the transformer during training.
        action_masking: restrict the policy to the environment's valid actions
            (``info["action_mask"]``); off by default, so invalid choices stay possible and are
            penalised by the environment as in SmallPlan.
        keep_destination_closed: at decision time, never ``open`` the destination the
            instruction asks to put the object *on* (placing would then put it inside); the
            teacher never does. Off: the model's choice stands.
        skip_failed_action: at decision time, never repeat the action that failed at the
            previous step (a failed action changes nothing, so it would fail again).
        search_features: give the action scorer the 8 search features (closed, explored,
            robot's room, next room, description match, holding) and the 2 destination
            features (put in it / on it), 22 in all; ``False``: the first 12 grounding features
            only (checkpoints before the search features).
        teacher: ``oracle`` (privileged planner) or ``llm`` (the cloud LLM over its API).
        search_teacher: the oracle teacher labels states whose target is unobserved (and not
            located by the instruction) with the observable search step instead of the
            privileged way to the hidden object (see ``teachers.search_step``).
        llm_base_url: OpenAI-compatible endpoint of the LLM teacher; ``None`` starts the
            embedded local server.
        strategy: one of :data:`STRATEGIES`.
        train_seed: seed of the training world seeds (evaluation suites use other seeds).
        difficulty: difficulties trained on (``mixed`` or one of the catalog's).
        offline_episodes: teacher demonstrations collected before online distillation.
        dagger_rounds: online distillation rounds (the student acts, the teacher labels).
        dagger_episodes: student episodes per online round.
        dagger_beta: probability of executing the teacher's action in online rounds (decays
            linearly to 0 over the rounds).
        offline_epochs: passes over the offline demonstrations.
        sft_epochs: passes over the aggregated dataset after each online round.
        sft_batch_size: minibatch size of distillation.
        sft_lr: distillation learning rate (AdamW).
        ppo_steps: environment steps of PPO fine-tuning.
        ppo_n_steps: rollout length per PPO update.
        ppo_batch_size: PPO minibatch size.
        ppo_epochs: PPO epochs per update.
        ppo_lr: PPO learning rate.
        ppo_clip: PPO clip range.
        ppo_ent_coef: PPO entropy bonus.
        ppo_gamma: discount.
        mlp_ppo_steps: environment steps of the MLP-PPO baseline.
        eval_episodes: episodes of the held-out check suite printed after training.
        num_threads: torch threads during training (the machine is shared).
    """

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    max_tokens: int = 320
    dropout: float = 0.0
    action_masking: bool = False
    keep_destination_closed: bool = True
    skip_failed_action: bool = True
    search_features: bool = True
    teacher: str = "oracle"
    search_teacher: bool = True
    llm_base_url: str | None = None
    strategy: str = "sft-rl"
    train_seed: int = 1000
    difficulty: str = "mixed"
    offline_episodes: int = 300
    dagger_rounds: int = 3
    dagger_episodes: int = 60
    dagger_beta: float = 0.5
    offline_epochs: int = 15
    sft_epochs: int = 4
    sft_batch_size: int = 32
    sft_lr: float = 3e-3
    ppo_steps: int = 1024
    ppo_n_steps: int = 256
    ppo_batch_size: int = 64
    ppo_epochs: int = 2
    ppo_lr: float = 5e-5
    ppo_clip: float = 0.1
    ppo_ent_coef: float = 0.0
    ppo_gamma: float = 0.99
    mlp_ppo_steps: int = 30_000
    eval_episodes: int = 32
    num_threads: int = 1

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_embd", "max_tokens", "sft_epochs", "offline_epochs",
                     "sft_batch_size", "ppo_n_steps", "ppo_batch_size", "ppo_epochs",
                     "num_threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("offline_episodes", "dagger_rounds", "dagger_episodes", "ppo_steps",
                     "mlp_ppo_steps", "eval_episodes", "train_seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("action_masking", "keep_destination_closed", "skip_failed_action",
                     "search_features", "search_teacher"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.max_tokens < 32:
            raise ValueError(f"max_tokens must be >= 32, got {self.max_tokens}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher must be one of {TEACHERS}, got {self.teacher!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if not 0.0 <= self.dagger_beta <= 1.0:
            raise ValueError(f"dagger_beta must be in [0, 1], got {self.dagger_beta!r}")
        for name in ("sft_lr", "ppo_lr", "ppo_clip"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if self.ppo_ent_coef < 0:
            raise ValueError(f"ppo_ent_coef must be >= 0, got {self.ppo_ent_coef!r}")
        if not 0.0 < self.ppo_gamma <= 1.0:
            raise ValueError(f"ppo_gamma must be in (0, 1], got {self.ppo_gamma!r}")
        if self.ppo_batch_size > self.ppo_n_steps:
            raise ValueError(
                f"ppo_batch_size ({self.ppo_batch_size}) must be <= "
                f"ppo_n_steps ({self.ppo_n_steps})"
            )
        if self.llm_base_url is not None:
            from urllib.parse import urlsplit

            parts = urlsplit(str(self.llm_base_url))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"llm_base_url must be an http(s) URL with a host, "
                                 f"got {self.llm_base_url!r}")
        from embodied_collab.sim.generate import parse_difficulty

        parse_difficulty(self.difficulty)  # raises ValueError naming the value
