"""Task decomposition by the cloud LLM: instruction + world -> validated plan of skills.

The instruction goes through the privacy filter first; only its redacted form is sent and
logged. The LLM's reply is parsed as JSON (schema-constrained where the server supports it),
validated against the skill allow-list and the world, repaired in a bounded number of rounds
with the validator's errors, and restored (placeholders -> personal data) on the robot.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from embodied_collab.cloud.client import BadResponse, ChatClient
from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.cloud.grammar import compact_schema, plan_grammar
from embodied_collab.cloud.privacy import PrivacyFilter
from embodied_collab.cloud.prompt import (
    describe_world,
    prompt_messages,
    repair_message,
    system_prompt,
)
from embodied_collab.cloud.validate import (
    SKILL_ARGS,
    autofix,
    check_complete,
    check_grounding,
    plan_to_dicts,
    validate_plan,
)
from embodied_collab.errors import InvalidInputError, PlanValidationError
from embodied_collab.sim.world import World

logger = logging.getLogger(__name__)

MAX_INSTRUCTION_CHARS = 2000


def extract_json(text: str) -> Any:
    """Decode JSON from an LLM reply (tolerates code fences and prose around one object).

    Raises:
        BadResponse: no JSON object could be decoded.
    """
    s = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.DOTALL)
    if fence:
        s = fence.group(1).strip()
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        pass
    start = s.find("{")
    if start >= 0:
        try:
            obj, _ = json.JSONDecoder().raw_decode(s[start:])
            return obj
        except json.JSONDecodeError:
            pass
    raise BadResponse(f"the model's reply is not JSON: {text[:120]!r}")


@dataclass(kw_only=True)
class PlanResult:
    """A decomposed instruction.

    Attributes:
        plan: the validated steps (personal data restored), ``[{"skill", "args"}]``.
        valid: whether ``plan`` passed validation.
        repaired: whether a repair round was needed.
        first_valid: whether the first reply was already valid.
        model: model name reported by the server.
        latency_s: wall time of all LLM calls together.
        prompt_tokens / completion_tokens: summed over all calls.
        redactions: number of redacted values per kind (``{"PERSON": 1}``).
        errors: validator errors of the last reply (empty when valid).
        sent_instruction: the instruction as it was sent (redacted).
    """

    plan: list[dict[str, Any]]
    valid: bool
    repaired: bool
    first_valid: bool
    model: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    redactions: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sent_instruction: str = ""

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON view."""
        return {
            "plan": self.plan,
            "valid": self.valid,
            "repaired": self.repaired,
            "model": self.model,
            "latency_s": round(self.latency_s, 3),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "redactions": self.redactions,
            **({"errors": self.errors} if self.errors else {}),
        }


class Decomposer:
    """Turns instructions into validated skill plans with the cloud LLM.

    Args:
        client: the chat client (or anything with the same ``chat`` method, e.g. the link
            layer's wrapper).
        cfg: component config (repair rounds, privacy, plan length).
    """

    def __init__(self, client: ChatClient, cfg: CloudConfig | None = None) -> None:
        self.client = client
        self.cfg = cfg or CloudConfig()
        self.privacy = PrivacyFilter()

    def _validate(self, data: Any, world: World, instruction: str):
        steps, errors = validate_plan(data, world, max_steps=self.cfg.max_steps)
        if not errors:
            errors = check_complete(instruction, steps, holding=world.robot.holding is not None)
        if not errors:
            errors = check_grounding(instruction, steps, world)
        return steps, errors

    def decompose(
        self, instruction: str, world: World, *, raise_on_invalid: bool = True
    ) -> PlanResult:
        """Plan ``instruction`` in ``world``.

        Args:
            instruction: the user's command.
            world: what the robot knows of the household.
            raise_on_invalid: raise when the plan is still invalid after repair (otherwise
                return a result with ``valid=False`` and the errors).

        Returns:
            The plan and its bookkeeping.

        Raises:
            InvalidInputError: the instruction is empty or too long.
            PlanValidationError: no valid plan after the repair rounds.
            LinkUnavailable: the LLM could not be reached (from the client).
        """
        if not isinstance(instruction, str) or not instruction.strip():
            raise InvalidInputError("the instruction is empty")
        if len(instruction) > MAX_INSTRUCTION_CHARS:
            raise InvalidInputError(
                f"the instruction is {len(instruction)} characters; "
                f"at most {MAX_INSTRUCTION_CHARS}"
            )
        red = self.privacy.redact(instruction) if self.cfg.privacy else None
        sent = red.text if red else instruction
        logger.info("planning (as sent): %s", sent)
        schema = compact_schema()
        use_grammar = self.cfg.effective_response_format == "grammar"
        grammar = plan_grammar(world, sent) if use_grammar else None
        # fixed system prompt first: the server's KV cache keeps it between calls
        messages = prompt_messages(world, sent)
        n_prompt = len(messages)
        latency, ptok, ctok, model = 0.0, 0, 0, self.cfg.model
        first_valid = False
        steps, errors = [], ["no reply"]
        for round_ in range(self.cfg.repair_rounds + 1):
            kwargs: dict[str, Any] = {"json_schema": schema}
            if grammar is not None:
                kwargs["grammar"] = grammar
            res = self.client.chat(messages, **kwargs)
            latency += res.latency_s
            ptok += res.prompt_tokens
            ctok += res.completion_tokens
            model = res.model
            try:
                data = extract_json(res.content)
                steps, errors = self._validate(data, world, sent)
                if round_ == 0:
                    first_valid = not errors
                if errors:  # local repair of missing prerequisite steps first
                    fixed = plan_to_dicts(
                        autofix(data, world, max_steps=self.cfg.max_steps, instruction=sent)
                    )
                    if fixed:
                        f_steps, f_errors = self._validate(fixed, world, sent)
                        if not f_errors:
                            logger.info("plan repaired locally: %s", "; ".join(errors))
                            steps, errors = f_steps, []
            except BadResponse as exc:
                steps, errors = [], [str(exc)]
            if not errors:
                break
            logger.info(
                "plan invalid (round %d): %s; reply: %s",
                round_,
                "; ".join(errors),
                res.content[:500],
            )
            messages = messages[:n_prompt] + [
                {"role": "assistant", "content": res.content},
                {"role": "user", "content": repair_message(errors)},
            ]
        plan = plan_to_dicts(steps)
        if red is not None:
            plan = self.privacy.restore(plan, red.mapping)
        result = PlanResult(
            plan=plan if not errors else [],
            valid=not errors,
            repaired=not first_valid,
            first_valid=first_valid,
            model=model,
            latency_s=latency,
            prompt_tokens=ptok,
            completion_tokens=ctok,
            redactions=red.counts if red else {},
            errors=errors,
            sent_instruction=sent,
        )
        if errors and raise_on_invalid:
            raise PlanValidationError(
                f"no valid plan after {self.cfg.repair_rounds} repair round(s): "
                + "; ".join(errors[:5]),
                errors,
            )
        return result


__all__ = [
    "Decomposer",
    "PlanResult",
    "SKILL_ARGS",
    "describe_world",
    "extract_json",
    "system_prompt",
]
