"""The planner SLM's training pipeline: distillation and PPO in the configured order.

``train(cfg, out_dir)`` builds the tokenizer, the model, the training env (world seeds
``[0, TRAIN_WORLD_SEEDS)``; evaluation suites use other worlds), runs the strategy's phases
(``sft``, ``rl``, ``sft-rl``, ``rl-sft``), checks each phase on a held-out validation suite,
and writes the checkpoint, TensorBoard logs, ``metrics.json`` and ``learning_curve.png``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.planner.config_planner import PlannerConfig

logger = logging.getLogger(__name__)

#: Training worlds come from generator seeds below this; held-out suites are filtered above it.
TRAIN_WORLD_SEEDS = 1_000_000
#: Seed of the validation suite used to pick the best phase (benchmarks use other seeds).
VALIDATION_SEED = 424242


def heldout_suite(n: int, difficulty: str = "mixed", seed: int = VALIDATION_SEED):
    """``n`` generated tasks whose worlds are outside the training seed range."""
    from embodied_collab.sim.generate import generate_suite
    from embodied_collab.sim.tasks import Suite

    suite = generate_suite(n + 8, difficulty, seed)
    tasks = [t for t in suite.tasks if t.world_seed >= TRAIN_WORLD_SEEDS][:n]
    return Suite(tasks=tasks, name=suite.name, description=suite.description)


def training_env(cfg: PlannerConfig):
    """The planning env drawing training worlds (seeded by ``cfg.train_seed``)."""
    from embodied_collab.sim.config_planning import PlanningConfig
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    env = HouseholdPlanEnv(PlanningConfig(difficulty=cfg.difficulty, world_seed_low=0,
                                          world_seed_high=TRAIN_WORLD_SEEDS))
    env.reset(seed=cfg.train_seed)
    return env


def build_tokenizer(env, episodes: int = 40, seed: int = 0):
    """The base vocabulary extended with any word seen in random-policy episodes of ``env``."""
    from embodied_collab.planner.evaluate import random_agent
    from embodied_collab.planner.tokenizer import PlanTokenizer

    tok = PlanTokenizer()
    agent = random_agent(seed)
    texts = []
    for _ in range(episodes):
        obs, info = env.reset()
        texts.append(info["text"])
        for _ in range(6):
            obs, _, term, trunc, info = env.step(agent(env, obs, info))
            texts.append(info["text"])
            if term or trunc:
                break
    extra = tok.unknown_words(texts)
    if extra:
        logger.info("tokenizer: adding %d words seen in the env: %s", len(extra), sorted(extra))
    return tok.extended(extra)


def make_teacher(cfg: PlannerConfig, *, server_log: str | None = None):
    """(teacher, cleanup) for ``cfg.teacher``; the LLM teacher may start the local server."""
    from embodied_collab.planner.teachers import LLMTeacher, OracleTeacher

    if cfg.teacher == "oracle":
        return OracleTeacher(explore=cfg.search_teacher), lambda: None
    url = cfg.llm_base_url
    server = None
    if url is None:
        from embodied_collab.cloud.server import LocalServer

        server = LocalServer(log_path=server_log).start()
        url = server.base_url
    return LLMTeacher(url), (server.stop if server is not None else (lambda: None))


def train(cfg: PlannerConfig, out_dir: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Run the whole pipeline; returns the metrics written to ``out_dir/metrics.json``."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    from embodied_collab.planner import rl, sft
    from embodied_collab.planner.evaluate import evaluate
    from embodied_collab.planner.model import build_model, save_checkpoint
    from embodied_collab.planner.obs import TokenObservation

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.train_seed)
    rng = np.random.default_rng(cfg.train_seed)
    t_start = time.monotonic()
    writer = SummaryWriter(str(out / "tensorboard"))

    def log(tag: str, value: float, step: int) -> None:
        writer.add_scalar(tag, value, step)

    env = training_env(cfg)
    tokenizer = build_tokenizer(env)
    model = build_model(cfg, tokenizer)
    logger.info("planner SLM: %d parameters, vocabulary %d", model.n_parameters(), len(tokenizer))
    valid = heldout_suite(cfg.eval_episodes)
    teacher, cleanup = make_teacher(cfg, server_log=str(out / "llm_server.log"))
    phases: list[dict[str, Any]] = []
    curves: dict[str, list] = {"sft_loss": [], "ppo_returns": []}
    best_state, best_key = None, (-1.0, -1.0)

    from embodied_collab.planner.policy import SLMPolicy

    def check(name: str) -> None:
        nonlocal best_state, best_key
        policy = SLMPolicy(model, tokenizer, cfg)
        m = evaluate(valid, lambda e, o, i: policy.act_env(e, i)[0], desc=f"validate {name}")
        m.pop("per_difficulty")
        phases.append({"phase": name, "elapsed_s": round(time.monotonic() - t_start, 1), **m})
        log("validation/success_rate", m["success_rate"], len(phases))
        log("validation/spl", m["spl"], len(phases))
        logger.info("after %s: %s", name, m)
        key = (m["success_rate"], m["spl"])
        if key > best_key:
            best_key = key
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def run_sft(tag: str) -> None:
        _, hist = sft.distill(model, tokenizer, env, teacher, cfg, rng=rng, log=log,
                              progress=progress)
        for h in hist:
            curves["sft_loss"].extend(h["losses"])
        check(tag)

    def run_rl(tag: str) -> None:
        nonlocal model
        wrapped = TokenObservation(training_env(cfg), tokenizer, cfg.max_tokens)
        model, returns = rl.finetune(model, wrapped, cfg, tensorboard_log=str(out / "tensorboard"),
                                     seed=cfg.train_seed, progress_bar=progress)
        curves["ppo_returns"].extend(returns)
        check(tag)

    try:
        for phase in cfg.strategy.split("-"):
            (run_sft if phase == "sft" else run_rl)(phase)
    finally:
        cleanup()
        writer.close()
    model.load_state_dict(best_state)
    elapsed = round(time.monotonic() - t_start, 1)
    chosen = max(phases, key=lambda p: (p["success_rate"], p["spl"]))
    metrics = {
        "parameters": model.n_parameters(),
        "vocabulary": len(tokenizer),
        "teacher": cfg.teacher,
        "strategy": cfg.strategy,
        "train_seconds": elapsed,
        "phases": phases,
        "selected_phase": chosen["phase"],
    }
    save_checkpoint(out / "planner_slm.pt", model, tokenizer, cfg, meta=metrics)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    plot_learning_curve(curves, phases, out / "learning_curve.png")
    return metrics


def plot_learning_curve(curves: dict[str, list], phases: list[dict[str, Any]], path: Path) -> None:
    """SFT loss per epoch, PPO episode returns (smoothed) and validation success per phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(curves["sft_loss"], marker="o")
    axes[0].set(title="distillation: cross-entropy", xlabel="epoch", ylabel="loss")
    r = np.asarray(curves["ppo_returns"], dtype=float)
    if len(r):
        k = max(1, min(50, len(r) // 10))
        axes[1].plot(r, alpha=0.3)
        axes[1].plot(np.convolve(r, np.ones(k) / k, mode="valid"))
    axes[1].set(title="PPO: episode return", xlabel="episode", ylabel="return")
    names = [p["phase"] for p in phases]
    axes[2].bar(names, [p["success_rate"] for p in phases], label="success")
    axes[2].plot(names, [p["spl"] for p in phases], "ko-", label="SPL")
    axes[2].set(title="validation (held-out worlds)", ylim=(0, 1.05))
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def train_mlp_ppo(cfg: PlannerConfig, out_dir: str | Path, *, progress: bool = True,
                  steps: int | None = None) -> dict[str, Any]:
    """Train the SB3 MLP-policy PPO baseline on the env's feature observation."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from embodied_collab.planner.evaluate import MLP_PPO_FILE

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.num_threads)
    t0 = time.monotonic()
    vec = make_vec_env(lambda: training_env(cfg), n_envs=4, seed=cfg.train_seed)
    model = PPO("MlpPolicy", vec, n_steps=256, batch_size=256, learning_rate=3e-4, ent_coef=0.01,
                gamma=cfg.ppo_gamma, seed=cfg.train_seed, device="cpu",
                tensorboard_log=str(out / "tensorboard"), verbose=0)
    model.learn(total_timesteps=cfg.mlp_ppo_steps if steps is None else steps,
                progress_bar=progress, tb_log_name="mlp_ppo")
    model.save(out / MLP_PPO_FILE)
    return {"baseline": "mlp-ppo", "steps": cfg.mlp_ppo_steps if steps is None else steps,
            "train_seconds": round(time.monotonic() - t0, 1)}
