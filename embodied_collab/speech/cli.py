"""``embodied-collab transcribe``, ``embodied-collab say`` and ``embodied-collab bench speech``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, groups: dict[str, Any]) -> None:
    """Add the speech commands to the CLI."""
    p = sub.add_parser("transcribe", help="transcribe a spoken command and ground it")
    p.add_argument("file", help="audio file (WAV/FLAC/OGG; any common rate and channel count)")
    p.add_argument("--world", help="world JSON file whose names bias and ground the command")
    p.add_argument("--config", help="YAML file with SpeechConfig fields (section 'speech' "
                                    "if present)")
    p.add_argument("--model", help="ASR model: asset name or CTranslate2 Whisper directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_transcribe)

    s = sub.add_parser("say", help="speak a sentence with the on-board TTS")
    s.add_argument("text")
    s.add_argument("--out", help="write a WAV file here")
    s.add_argument("--play", action="store_true", help="play it (needs sounddevice)")
    s.add_argument("--config", help="YAML file with SpeechConfig fields")
    s.set_defaults(func=_say)

    m = sub.add_parser("listen", help="transcribe commands from the microphone (sounddevice)")
    m.add_argument("--world", help="world JSON file whose names bias and ground commands")
    m.add_argument("--seconds", type=float, default=30.0, help="listen this long")
    m.add_argument("--config", help="YAML file with SpeechConfig fields")
    m.add_argument("--json", action="store_true", help="print one JSON object per line")
    m.set_defaults(func=_listen)

    b = groups["bench"].add_parser("speech", help="speech benchmark vs plain faster-whisper")
    b.add_argument("--commands", type=int, default=40,
                   help="generated commands, each played clean and at 20 and 10 dB SNR")
    b.add_argument("--limit", type=int, help="run only the first N utterances (quick check)")
    b.add_argument("--seed", type=int, default=1234)
    b.add_argument("--seeds", help="run the benchmark once per seed (e.g. 1234,9,4321) and "
                                   "print each run and the results pooled over all of them")
    b.add_argument("--no-baseline", action="store_true", help="skip plain faster-whisper")
    b.add_argument("--only", help="run only these utterance ids: 3,17,42 or a JSON file (a "
                                  "list, or an earlier run's output: its hard_utterances)")
    b.add_argument("--config", help="YAML file with SpeechConfig fields")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=_bench)


def _seeds(text: str) -> list[int]:
    """The seeds of ``--seeds``: comma-separated non-negative integers, no repeats.

    Raises:
        InvalidInputError: naming what is wrong.
    """
    from embodied_collab.errors import InvalidInputError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise InvalidInputError(f"--seeds must be comma-separated non-negative integers, "
                                f"got {text!r}")
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise InvalidInputError(f"--seeds repeats a seed: {text!r}")
    return seeds


def _config(path: str | None, **overrides: Any):
    from embodied_collab.config import config_from_dict, load_config
    from embodied_collab.speech.config_speech import SpeechConfig

    section = None
    if path is not None:
        import yaml

        try:
            doc = yaml.safe_load(open(path)) or {}
        except (OSError, yaml.YAMLError):
            doc = {}  # load_config reports the problem with the file's name
        if isinstance(doc, dict) and isinstance(doc.get("speech"), dict):
            section = "speech"
    cfg = load_config(SpeechConfig, path, section=section)
    extra = {k: v for k, v in overrides.items() if v is not None}
    if extra:
        from embodied_collab.config import config_to_dict

        cfg = config_from_dict(SpeechConfig, {**config_to_dict(cfg), **extra},
                               source="command line")
    return cfg


def _transcribe(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.speech.audio import load_audio
    from embodied_collab.speech.pipeline import SpeechPipeline

    world = None
    if args.world:
        from embodied_collab.sim.world import World

        world = World.load(args.world)
    audio, rate = load_audio(args.file)  # bad files fail here, before any model loads
    pipe = SpeechPipeline(_config(args.config, model=args.model), world)
    result = pipe.transcribe(audio, rate)
    if args.json:
        print_json(result.to_dict())
    else:
        intent = result.intent
        print(f"text:       {result.text or '(no speech)'}")
        print(f"intent:     {intent.kind} {intent.verb or ''} {intent.slots}")
        print(f"confidence: {intent.confidence:.2f}")
        if intent.ask_back:
            print(f"ask back:   {intent.ask_back}")
        print(f"audio {result.audio_s:.2f} s, latency {result.latency_s:.3f} s")
    return 0


def _listen(args: argparse.Namespace) -> int:
    import json

    from embodied_collab.speech.audio import microphone_chunks
    from embodied_collab.speech.pipeline import SpeechPipeline

    world = None
    if args.world:
        from embodied_collab.sim.world import World

        world = World.load(args.world)
    chunks = microphone_chunks(max_s=args.seconds)  # fails early if there is no microphone
    pipe = SpeechPipeline(_config(args.config), world)
    pipe.warm_up()
    for res in pipe.listen(chunks):
        if args.json:
            print(json.dumps(res.to_dict()), flush=True)
        else:
            print(f"{res.text!r} -> {res.intent.kind} {res.intent.verb or ''} "
                  f"{res.intent.slots} ({res.latency_s:.2f} s)", flush=True)
    return 0


def _say(args: argparse.Namespace) -> int:
    from embodied_collab.speech.audio import write_wav
    from embodied_collab.speech.tts import Speaker

    speaker = Speaker(_config(args.config))
    audio = speaker.say(args.text, play=args.play)
    if args.out:
        write_wav(args.out, audio, speaker.sample_rate)
        print(f"wrote {args.out} ({audio.size / speaker.sample_rate:.2f} s)")
    return 0


def _utterance_ids(spec: str | None) -> list[int] | None:
    """``--only``: ``3,17,42``, or a JSON file holding a list of ids or a benchmark output."""
    import json
    from pathlib import Path

    from embodied_collab.errors import InvalidInputError

    if spec is None:
        return None
    if Path(spec).is_file():
        try:
            doc = json.loads(Path(spec).read_text())
        except (OSError, ValueError) as e:
            raise InvalidInputError(f"--only {spec}: not a readable JSON file ({e})") from e
        ids = doc.get("hard_utterances") if isinstance(doc, dict) else doc
    else:
        try:
            ids = [int(x) for x in spec.split(",") if x.strip()]
        except ValueError:
            raise InvalidInputError(f"--only {spec!r}: neither a file nor comma-separated "
                                    "utterance ids") from None
    if not isinstance(ids, list) or not all(isinstance(x, int) for x in ids):
        raise InvalidInputError(f"--only {spec}: expected a list of utterance ids (integers) "
                                "or a benchmark output with hard_utterances")
    return ids


def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.speech.bench import run_bench

    if args.commands < 1:
        from embodied_collab.errors import InvalidInputError

        raise InvalidInputError(f"--commands must be >= 1, got {args.commands}")
    seeds = _seeds(args.seeds) if args.seeds else None
    if seeds is not None and args.only:
        from embodied_collab.errors import InvalidInputError

        raise InvalidInputError("--only names utterances of one seed's run: use it with --seed")
    if seeds is None:
        res = run_bench(args.commands, seed=args.seed, limit=args.limit,
                        baseline=not args.no_baseline, config=_config(args.config),
                        progress=True, only=_utterance_ids(args.only))
    else:
        from embodied_collab.speech.bench import pool_runs

        config = _config(args.config)
        runs = {s: run_bench(args.commands, seed=s, limit=args.limit,
                             baseline=not args.no_baseline, config=config, progress=True)
                for s in seeds}
        res = {"pooled": pool_runs(runs), "runs": {str(s): r for s, r in runs.items()}}
    if args.json:
        print_json(res)
    elif seeds is None:
        for k, v in res.items():
            if k not in ("failures", "voices", "config", "counts"):
                print(f"{k}: {v}")
    else:
        for k, v in res["pooled"].items():
            print(f"pooled {k}: {v}")
        for s, r in res["runs"].items():
            print(f"seed {s}: words {r['word_accuracy']} / {r['word_accuracy_20db']} / "
                  f"{r['word_accuracy_10db']}, intent {r['intent_accuracy']}, "
                  f"3 s latency p50 {r['latency_s_p50_3s_commands']} s")
    return 0
