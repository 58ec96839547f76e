"""Speech benchmark: generated spoken commands (several voices and speeds, clean and noisy),
our streaming pipeline against plain faster-whisper measured in the same run."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidInputError
from embodied_collab.speech.audio import SAMPLE_RATE, add_noise
from embodied_collab.speech.config_speech import SpeechConfig
from embodied_collab.speech.grounding import Grounder
from embodied_collab.speech.synth import (
    Command,
    Synthesizer,
    Voice,
    available_voices,
    generate_commands,
    task_commands,
)
from embodied_collab.speech.vocabulary import words_of

logger = logging.getLogger(__name__)

#: Noise conditions by name: SNR in dB, None for clean speech.
CONDITIONS: dict[str, float | None] = {"clean": None, "20db": 20.0, "10db": 10.0}


def accuracy_key(condition: str) -> str:
    """The output key of a condition's word accuracy: ``word_accuracy`` (clean),
    ``word_accuracy_20db``, ``word_accuracy_10db``."""
    return "word_accuracy" if condition == "clean" else f"word_accuracy_{condition}"
_LEAD_S, _TAIL_S, _CHUNK = 0.5, 0.8, 1024


def audio_cache_dir() -> Path:
    """Where synthesized benchmark speech is kept: ``<model cache>/speech_bench``."""
    from embodied_collab.assets import cache_root

    return cache_root() / "speech_bench"


def cached_speech(synth: Synthesizer, text: str, voice: Voice, seed: int,
                  cache_dir: Path | None = None) -> np.ndarray:
    """``synth.speak(text, voice, seed)``, kept on disk keyed by text, voice and seed, so
    repeated benchmark runs (and runs on a subset) do not synthesize again."""
    key = hashlib.sha1(repr((text, voice.backend, voice.voice, voice.speed, seed, 1))
                       .encode()).hexdigest()[:20]
    path = (cache_dir or audio_cache_dir()) / f"{key}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            logger.warning("unreadable cached speech %s; synthesizing again", path)
    audio = synth.speak(text, voice, seed=seed).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{key}.{time.monotonic_ns()}.tmp.npy"
    np.save(tmp, audio)
    tmp.replace(path)
    return audio


def bench_jobs(n_commands: int, seed: int) -> list[tuple[int, Command, float | None]]:
    """The benchmark's utterances in order: ``(command index, command, SNR or None)``.
    An utterance's position in this list is its id (``--only``, ``failures[].utterance``)."""
    n_tasks = n_commands // 3
    templ = generate_commands(n_commands - n_tasks, seed)
    tasks = task_commands(n_tasks, seed)
    commands: list[Command] = []
    for j, c in enumerate(templ):  # interleave: template, task, template, task, ...
        commands += [c] + ([tasks[j]] if j < len(tasks) else [])
    return [(i, c, snr) for i, c in enumerate(commands) for snr in CONDITIONS.values()]


def bench_audio(jobs: list[tuple[int, Command, float | None]], voices: list[Voice], seed: int,
                synth: Synthesizer | None = None, cache_dir: Path | None = None
                ) -> list[tuple[np.ndarray, float, float, Voice]]:
    """``(audio with lead/tail silence and noise, true end of speech in s, seconds of
    synthesized speech, voice)`` per job.

    Noise comes from one generator seeded with ``seed`` and drawn in job order, so a subset
    run hears exactly the audio the full run heard.
    """
    synth = synth or Synthesizer()
    rng = np.random.default_rng(seed)
    lead, tail = int(_LEAD_S * SAMPLE_RATE), int(_TAIL_S * SAMPLE_RATE)
    out = []
    for i, cmd, snr in jobs:
        voice = voices[i % len(voices)]
        speech = cached_speech(synth, cmd.text, voice, i, cache_dir)
        audio = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(tail, np.float32)])
        if snr is not None:
            audio = add_noise(audio, snr, rng, kind=("pink", "babble", "white")[i % 3])
        voiced = np.nonzero(np.abs(speech) > 0.01 * np.max(np.abs(speech)))[0]
        speech_end_s = (lead + (voiced[-1] + 1 if voiced.size else speech.size)) / SAMPLE_RATE
        out.append((audio, speech_end_s, speech.size / SAMPLE_RATE, voice))
    return out


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(edits, reference words) of the word-level Levenshtein alignment."""
    r, h = words_of(ref), words_of(hyp)
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d = d, np.empty_like(d)
        d[0] = i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return int(d[len(h)]), len(r)


def intent_matches(cmd: Command, intent: Any) -> bool:
    """The intent has the command's kind, verb and every slot (catalog names). (The benchmark
    also counts an intent that asks back as not correct.)"""
    if intent.kind != cmd.kind:
        return False
    if cmd.kind != "task":
        return True
    if cmd.world is not None:  # a generated task: the goal's object and target ids
        return all(intent.slots.get(k) == v for k, v in cmd.slots.items())
    return intent.verb == cmd.verb and intent.slots == cmd.slots


def pool_runs(runs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Results of :func:`run_bench` over several seeds (``{seed: result}``), pooled:
    word accuracy per condition and intent accuracy over all their utterances, and how many
    seeds meet the issue's goals (words >= 0.98 clean and >= 0.95 at 10 dB, intent >= 0.98).

    Raises:
        ValueError: when a result lacks the raw ``counts`` (an older run's output).
    """
    if not runs:
        raise ValueError("no runs to pool")
    missing = [s for s, r in runs.items() if "counts" not in r]
    if missing:
        raise ValueError(f"runs of seeds {missing} have no 'counts' to pool")
    n = sum(r["utterances"] for r in runs.values())
    ok = sum(r["counts"]["intents_ok"] for r in runs.values())
    out: dict[str, Any] = {"seeds": sorted(runs), "utterances": n}
    for c in CONDITIONS:
        e = sum(r["counts"]["word_errors"][c][0] for r in runs.values())
        w = sum(r["counts"]["word_errors"][c][1] for r in runs.values())
        out[accuracy_key(c)] = round(1.0 - e / w, 4) if w else float("nan")
    out["intent_accuracy"] = round(ok / n, 4) if n else float("nan")
    out["intent_accuracy_min"] = min(r["intent_accuracy"] for r in runs.values())
    out["seeds_meeting_goals"] = {
        "word_accuracy >= 0.98": sum(r["word_accuracy"] >= 0.98 for r in runs.values()),
        "word_accuracy_10db >= 0.95": sum(r["word_accuracy_10db"] >= 0.95
                                          for r in runs.values()),
        "intent_accuracy >= 0.98": sum(r["intent_accuracy"] >= 0.98 for r in runs.values()),
    }
    return out


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def _acc(errs: list[tuple[int, int]]) -> float:
    e, n = (sum(x) for x in zip(*errs, strict=True)) if errs else (0, 0)
    return round(1.0 - e / n, 4) if n else float("nan")


def run_bench(n_commands: int = 40, *, seed: int = 1234, limit: int | None = None,
              baseline: bool = True, config: SpeechConfig | None = None,
              progress: bool = True, only: Sequence[int] | None = None) -> dict[str, Any]:
    """Run the benchmark and return the JSON-ready results.

    Every command is spoken by one voice (round robin over the available voices) and played
    clean and with noise at 20 and 10 dB SNR, with silence before and after, through the
    streaming pipeline in 64 ms chunks. Latency is from the true end of speech (last voiced
    sample of the clean synthesis) to the intent being ready: the end-of-speech wait plus the
    compute after it.

    ``only`` runs just those utterance ids (positions in :func:`bench_jobs`; e.g. the
    ``hard_utterances`` of an earlier run) on exactly the audio the full run used.
    Synthesized speech is cached on disk (:func:`cached_speech`).
    """
    import torch
    from tqdm import tqdm

    from embodied_collab.speech.pipeline import SpeechPipeline

    torch.set_num_threads(1)
    config = config or SpeechConfig()
    pipe = SpeechPipeline(config)
    pipe.warm_up()
    plain_grounder = Grounder(None, replace(config), pipe.grounder.embedder)
    voices = available_voices()
    all_jobs = bench_jobs(n_commands, seed)
    ids = list(range(len(all_jobs)))
    if limit is not None:
        ids = ids[:limit]
    if only is not None:
        bad = [k for k in only if not 0 <= k < len(all_jobs)]
        if bad:
            raise InvalidInputError(f"utterance ids {bad} are outside this benchmark "
                                    f"(0..{len(all_jobs) - 1} for --commands {n_commands})")
        ids = [k for k in ids if k in set(only)]
    audios = bench_audio(all_jobs[:max(ids) + 1] if ids else [], voices, seed)
    jobs = [(k, *all_jobs[k]) for k in ids]
    errs: dict[Any, list] = defaultdict(list)
    base_errs: dict[Any, list] = defaultdict(list)
    per_voice: dict[str, list] = defaultdict(list)
    lat, lat3, lat_stop, base_lat, waits, asr_s = [], [], [], [], [], []
    rescore_s: list[float] = []
    recheck_s: list[float] = []
    intents_ok = base_intents_ok = 0
    splits = ask_backs = false_asks = rescored = rechecked = 0
    compute_s = base_compute_s = audio_total = 0.0
    failures: list[dict[str, Any]] = []
    hard: list[int] = []
    world_set = False
    for k, _, cmd, snr in tqdm(jobs, desc="bench speech", disable=not progress, unit="utt"):
        audio, speech_end_s, speech_s, voice = audios[k]
        audio_total += audio.size / SAMPLE_RATE

        if cmd.world is not None or world_set:
            pipe.set_world(cmd.world)  # the task's world biases decoding and grounds ids
            world_set = cmd.world is not None
        t0 = time.perf_counter()
        chunks = [audio[o:o + _CHUNK] for o in range(0, audio.size, _CHUNK)]
        results = list(pipe.listen(chunks))
        compute_s += time.perf_counter() - t0
        text = " ".join(r.text for r in results)
        splits += len(results) > 1
        rescored += any(r.timings.get("rescored") for r in results)
        rescore_s += [r.timings["rescore"] for r in results if "rescore" in r.timings]
        recheck_s += [r.timings["recheck"] for r in results if "recheck" in r.timings]
        rechecked += any(r.timings.get("rechecked") for r in results)
        e = word_errors(cmd.text, text)
        errs[snr].append(e)
        per_voice[voice.name].append(e)
        if results:
            last = results[-1]
            main = max(results, key=lambda r: r.speech_s)
            latency = last.ready_s - speech_end_s
            waits.append(last.detected_s - speech_end_s)
            asr_s.append(last.timings.get("asr", 0.0))
            lat.append(latency)
            if cmd.kind != "task":
                lat_stop.append(latency)
            elif 2.5 <= speech_s <= 3.5:
                lat3.append(latency)
            ok = intent_matches(cmd, main.intent) and main.intent.ask_back is None
            ask_backs += main.intent.ask_back is not None
            false_asks += main.intent.ask_back is not None and e[0] == 0
        else:
            ok = False
        intents_ok += ok
        if not ok or e[0] or (results and main.intent.confidence < 0.8):
            hard.append(k)  # failing or near-failing: the set to iterate on (--only)
        if not ok or e[0]:
            failures.append({"utterance": k, "ref": cmd.text, "hyp": text, "voice": voice.name,
                             "snr": snr, "asr": " ".join(r.raw_text for r in results),
                             "intent_ok": bool(ok), "expected": dict(cmd.slots),
                             "intent": results[-1].intent.to_dict() if results else None})
        if baseline:
            tr = pipe.transcriber.transcribe_plain(audio)
            base_compute_s += tr.decode_s
            base_lat.append(tr.decode_s)
            base_errs[snr].append(word_errors(cmd.text, tr.text))
            b_int = (pipe.grounder if cmd.world is not None else plain_grounder).ground(tr.text)
            base_intents_ok += intent_matches(cmd, b_int) and b_int.ask_back is None

    n = len(jobs)
    out: dict[str, Any] = {
        **{accuracy_key(c): _acc(errs[snr]) for c, snr in CONDITIONS.items()},
        "intent_accuracy": round(intents_ok / n, 4) if n else float("nan"),
        "rtf": round(compute_s / audio_total, 4) if audio_total else float("nan"),
        "latency_s_p50": round(_pct(lat, 50), 3),
        "latency_s_p95": round(_pct(lat, 95), 3),
        "latency_s_p50_3s_commands": round(_pct(lat3, 50), 3),
        "latency_s_p50_stop": round(_pct(lat_stop, 50), 3),
        "endpoint_wait_s_p50": round(_pct(waits, 50), 3),
        "asr_s_p50": round(_pct(asr_s, 50), 3),
        "rescore_s_p50": round(_pct(rescore_s, 50), 3),
        "rescore_attempts": len(rescore_s),
        "recheck_s_p50": round(_pct(recheck_s, 50), 3),
        "utterances": n,
        "commands": len({i for _, i, _, _ in jobs}),
        "generated_task_commands": len({i for _, i, c, _ in jobs if c.world is not None}),
        "split_utterances": splits,
        "rescored": rescored,
        "rechecked": rechecked,
        "ask_backs": ask_backs,
        "ask_backs_on_correct_transcripts": false_asks,
        "voices": {k: _acc(v) for k, v in per_voice.items()},
        "config": {"model": config.model, "beam_size": config.beam_size,
                   "vocabulary_prompt": config.vocabulary_prompt,
                   "trim_encoder": config.trim_encoder, "correct_words": config.correct_words,
                   "min_silence_ms": config.min_silence_ms,
                   "speculative_ms": config.speculative_ms, "cpu_threads": config.cpu_threads,
                   "merge_window_ms": config.merge_window_ms, "denoise": config.denoise,
                   "world_rescoring": config.world_rescoring,
                   "stop_spotting": config.stop_spotting,
                   "rescore_candidates": config.rescore_candidates,
                   "rescore_margin": config.rescore_margin,
                   "rescore_margin_oov": config.rescore_margin_oov,
                   "second_opinion": config.second_opinion,
                   "second_opinion_doubt": config.second_opinion_doubt,
                   "second_opinion_candidates": config.second_opinion_candidates,
                   "second_opinion_margin": config.second_opinion_margin},
        "failures": failures[:60],
        "hard_utterances": hard,
        # raw counts, so that runs over several seeds can be pooled (:func:`pool_runs`)
        "counts": {"word_errors": {c: [sum(e for e, _ in errs[snr]), sum(w for _, w in errs[snr])]
                                   for c, snr in CONDITIONS.items()},
                   "intents_ok": intents_ok},
    }
    if baseline:
        out["baseline"] = {
            "description": "plain faster-whisper base: beam 5, no prompt, no VAD, 30 s window",
            **{accuracy_key(c): _acc(base_errs[snr]) for c, snr in CONDITIONS.items()},
            "intent_accuracy": round(base_intents_ok / n, 4) if n else float("nan"),
            "rtf": round(base_compute_s / audio_total, 4) if audio_total else float("nan"),
            "latency_s_p50": round(_pct(base_lat, 50), 3),
            "latency_s_p95": round(_pct(base_lat, 95), 3),
        }
    return out
