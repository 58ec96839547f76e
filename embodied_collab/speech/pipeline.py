"""The speech pipeline: audio -> VAD -> ASR biased by the world -> corrected text -> intent.

``SpeechPipeline(config).transcribe(audio, sample_rate, world)`` handles a whole recording;
``SpeechPipeline.listen(chunks)`` handles a live stream (microphone, ROS audio topic) and yields
one result per utterance, cut by voice activity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from embodied_collab.errors import DependencyNotInstalled, ModelNotAvailable
from embodied_collab.speech.asr import Transcriber
from embodied_collab.speech.audio import (
    SAMPLE_RATE,
    denoise,
    is_silent,
    prepare,
    resample,
    to_float_mono,
)
from embodied_collab.speech.config_speech import SpeechConfig
from embodied_collab.speech.grounding import (
    WHICH_OBJECT_TO_BRING,
    Embedder,
    Grounder,
    Intent,
    quick_command,
)
from embodied_collab.speech.nbest import borrow_known_words, intent_quality, may_replace
from embodied_collab.speech.rescoring import (
    GRAMMAR_WORDS,
    candidate_texts,
    go_to_named_place,
    sentence,
    slot_candidates,
    suspect_spans,
)
from embodied_collab.speech.second_opinion import SecondOpinion
from embodied_collab.speech.vad import SileroVad, Utterance, UtteranceSegmenter
from embodied_collab.speech.vocabulary import VERBS, Corrector, Vocabulary, words_of

logger = logging.getLogger(__name__)

#: Weight of the out-of-vocabulary rate against the decoder score when ranking the n-best.
OOV_WEIGHT = 0.5
#: Words that refer to something said in an earlier sentence.
_BACK_REFERENCES = frozenset({"it", "them", "that", "there", "this", "one"})
#: Longest stretch decoded in one pass.
_MAX_SPAN_S = 28.0
#: Utterances up to this many words that mean nothing are also tried as stop/cancel orders.
_STOP_SPOT_WORDS = 4
#: Rescoring rounds (a second round fixes a second doubtful span of the first round's pick).
_RESCORE_ROUNDS = 2
#: Candidates of the second-opinion recheck that both models score (the second model's best).
_RECHECK_FINALISTS = 3


@dataclass
class SpeechResult:
    """What was said and meant.

    Attributes:
        text: the transcript after correction against the world's vocabulary.
        raw_text: the ASR transcript before correction.
        intent: the grounded :class:`Intent`.
        audio_s: seconds of input audio.
        speech_s: seconds of speech found by VAD (0 for silence).
        latency_s: compute time from the end of the input to the intent being ready.
        start_s: stream time the utterance began (streaming only).
        detected_s: stream time the end of the utterance was detected (streaming only).
        ready_s: stream time the intent was ready (streaming only).
        timings: seconds spent per stage (``vad``, ``asr``, ``ground``).
    """

    text: str
    raw_text: str
    intent: Intent
    audio_s: float
    speech_s: float
    latency_s: float
    start_s: float = 0.0
    detected_s: float = 0.0
    ready_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON view: text, intent, confidence, audio_s, latency_s (+ details)."""
        return {"text": self.text, "intent": self.intent.kind,
                "confidence": round(float(self.intent.confidence), 3),
                "audio_s": round(self.audio_s, 3), "latency_s": round(self.latency_s, 3),
                "raw_text": self.raw_text, "speech_s": round(self.speech_s, 3),
                "details": self.intent.to_dict(),
                "timings": {k: round(v, 4) for k, v in self.timings.items()}}


class Pick(NamedTuple):
    """The n-best transcript chosen to act on: its ``raw`` text, its ``text`` after
    correction against the world's vocabulary, its ``intent`` (None when not grounded yet),
    and what was ``heard``: the words before spelling correction (unknown words taken from
    other hypotheses, where they heard known words)."""

    raw: str
    text: str
    intent: Intent | None
    heard: str


class SpeechPipeline:
    """VAD + faster-whisper + world-aware correction + grounding, loaded once.

    Args:
        config: a :class:`SpeechConfig` (defaults if None).
        world: a sim ``World`` whose names bias decoding and ground intents (catalog if None).
        transcriber, embedder, vad, second_opinion: shared parts (loaded here otherwise).
            The second-opinion model (config ``second_opinion``) is optional: when its
            package is not installed, a warning says so and the check is off.
    """

    def __init__(self, config: SpeechConfig | None = None, world: Any = None, *,
                 transcriber: Transcriber | None = None, embedder: Embedder | None = None,
                 vad: SileroVad | None = None,
                 second_opinion: SecondOpinion | None = None) -> None:
        self.config = config or SpeechConfig()
        import scipy.signal  # noqa: F401  (resampling; a cold import costs seconds)

        self.transcriber = transcriber or Transcriber(self.config)
        self.vad = vad or (SileroVad() if self.config.vad else None)
        self.second = second_opinion if self.config.second_opinion else None
        if self.second is None and self.config.second_opinion:
            try:
                self.second = SecondOpinion(self.config.second_opinion,
                                            threads=self.config.cpu_threads)
            except (ModelNotAvailable, DependencyNotInstalled) as exc:
                logger.warning("second-opinion check off: %s", exc)
        self._embedder = embedder
        self.set_world(world)

    def set_world(self, world: Any) -> None:
        """Switch to another world's vocabulary (prompt, corrector, grounder)."""
        self.vocabulary = (world if isinstance(world, Vocabulary) else
                           Vocabulary.from_world(world) if world is not None else
                           Vocabulary.from_catalog())
        self.grounder = Grounder(self.vocabulary, self.config, self._embedder)
        self._embedder = self.grounder._embedder
        self.corrector = Corrector(self.vocabulary, self.config.correction_cutoff)
        self.prompt = self.vocabulary.prompt() if self.config.vocabulary_prompt else None

    def warm_up(self) -> None:
        """Load the embedding model and run the ASR once so the first command is fast."""
        self.grounder.warm_up()
        self._embedder = self.grounder.embedder
        self.transcriber.transcribe(np.zeros(SAMPLE_RATE // 2, np.float32), self.prompt)
        if self.second is not None:
            self.second.word_scores(self.second.encode(np.zeros(SAMPLE_RATE // 2, np.float32)),
                                    "Stop.")

    # -- whole recordings ---------------------------------------------------------------------
    def transcribe(self, audio: np.ndarray, sample_rate: int, world: Any = None) -> SpeechResult:
        """Transcribe and ground a whole recording.

        Args:
            audio: samples, mono ``(n,)`` or ``(n, channels)``, integer or float.
            sample_rate: their rate in Hz (any common rate; resampled to 16 kHz).
            world: a World to switch to (kept for later calls, like :meth:`set_world`).

        Returns:
            A :class:`SpeechResult`; silence gives an empty text and an ``unknown`` intent.

        Raises:
            InvalidInputError: empty, non-finite or clipped audio, or an unsupported rate.
        """
        if world is not None:
            self.set_world(world)
        t0 = time.perf_counter()
        audio16 = prepare(audio, sample_rate, clip_fraction=self.config.clip_fraction)
        audio_s = audio16.size / SAMPLE_RATE
        if is_silent(audio16):
            return self._empty(audio_s, time.perf_counter() - t0)
        if self.vad is not None:
            seg = UtteranceSegmenter(self.config, self.vad)
            utts = [u for u in seg.feed(audio16) if not u.tentative] + seg.flush()
            if not utts:
                return self._empty(audio_s, time.perf_counter() - t0)
            spans = self._spans(utts)
        else:
            spans = [audio16]
        t_vad = time.perf_counter() - t0
        result = self.recognize(spans)
        result.audio_s = audio_s
        result.timings["vad"] = t_vad
        result.latency_s = time.perf_counter() - t0
        return result

    @staticmethod
    def _spans(utts: list[Utterance]) -> list[np.ndarray]:
        spans: list[np.ndarray] = []
        for u in utts:
            if spans and (spans[-1].size + u.audio.size) / SAMPLE_RATE <= _MAX_SPAN_S:
                gap = np.zeros(int(0.2 * SAMPLE_RATE), np.float32)
                spans[-1] = np.concatenate([spans[-1], gap, u.audio])
            else:
                spans.append(u.audio)
        return spans

    def recognize(self, spans: np.ndarray | list[np.ndarray]) -> SpeechResult:
        """ASR, correction and grounding of speech already cut by VAD (16 kHz float32)."""
        if isinstance(spans, np.ndarray):
            spans = [spans]
        t0 = time.perf_counter()
        raw, best, trs, heard = [], [], [], []
        pick: Pick | None = None
        for span in spans:
            if self.config.denoise:
                span = denoise(span)
            heard.append(span)
            tr = self.transcriber.transcribe(span, self.prompt)
            hyps = tr.hypotheses or [(tr.text, 0.0)]
            pick = self._pick(hyps, single=len(spans) == 1)
            raw.append(pick.raw)
            best.append(pick.text)
            trs.append(tr)
        t1 = time.perf_counter()
        text = " ".join(b for b in best if b).strip()
        intent = pick.intent if pick is not None and pick.intent is not None and \
            len(spans) == 1 else self.grounder.ground(text)
        timings: dict[str, float] = {}
        if len(trs) == 1 and text and (self.config.world_rescoring or
                                        self.config.stop_spotting):
            assert pick is not None
            # words corrected by spelling alone are checked against the sound: the heard
            # words are rescored, with the spelling correction as one of the candidates
            guessed = self.config.world_rescoring and self.config.correct_words and \
                pick.heard != text
            rescored = None
            if guessed:
                rescored = self._rescore(trs[0], pick.heard, self.grounder.ground(pick.heard),
                                         extra=[text])
                if rescored is not None and (spelled := self.corrector.correct(
                        rescored[0])) != rescored[0]:
                    # words the rescoring left unknown are corrected by spelling, as before
                    better = self.grounder.ground(spelled)
                    if intent_quality(better) >= intent_quality(rescored[1]):
                        rescored = spelled, better
            doubtful = rescored is None and self._doubtful(text, intent)
            if doubtful:  # the (corrected) transcript itself, as without the check above
                rescored = self._rescore(trs[0], text, intent)
            if rescored is not None:
                text, intent = rescored
                timings["rescored"] = 1.0
            if guessed or doubtful:
                timings["rescore"] = time.perf_counter() - t1
        if self.second is not None and len(trs) == 1 and intent.kind == "task":
            t_check = time.perf_counter()
            checked = self._recheck(heard[0], trs[0], text, intent)
            if checked is not None:
                text, intent = checked
                timings["rechecked"] = 1.0
            timings["recheck"] = time.perf_counter() - t_check
        t2 = time.perf_counter()
        speech_s = sum(s.size for s in spans) / SAMPLE_RATE
        timings.update({"asr": t1 - t0, "ground": t2 - t1})
        return SpeechResult(text=text, raw_text=" ".join(raw).strip(), intent=intent,
                            audio_s=speech_s, speech_s=speech_s, latency_s=t2 - t0,
                            timings=timings)

    def _pick(self, hyps: list[tuple[str, float]], single: bool) -> Pick:
        """The n-best transcript to act on (a :class:`Pick`). Hypotheses are ranked by
        decoder score less ``OOV_WEIGHT`` times their rate of words the world does not know;
        with ``nbest_intent_margin`` > 0 and one span, those
        within that margin of the best are grounded and the most complete intent wins
        (:func:`~embodied_collab.speech.nbest.intent_quality`); words the world does not know
        are first taken from another hypothesis that heard known words in their place."""
        def key(h: tuple[str, float]) -> float:
            return h[1] - OOV_WEIGHT * self.corrector.oov_rate(h[0])

        ranked = sorted(hyps, key=key, reverse=True)
        margin = self.config.nbest_intent_margin
        floor = key(ranked[0]) - margin
        close = [h for h in ranked if key(h) >= floor] if margin > 0 else ranked[:1]
        words = [words_of(h[0]) for h in ranked]
        choices: list[Pick] = []
        for h in close:
            i = ranked.index(h)
            heard = text = h[0]
            if self.config.correct_words:
                heard = " ".join(borrow_known_words(
                    words[i], words[:i] + words[i + 1:], self.corrector.known)
                    if margin > 0 else words[i])
                text = self.corrector.correct(heard)
            choices.append(Pick(h[0], text, None, heard))
        if not single or len({c.text for c in choices}) == 1:
            return choices[0]
        grounded = [c._replace(intent=self.grounder.ground(c.text)) for c in choices]
        top_words, top = words_of(grounded[0].text), grounded[0].intent
        allowed = [0] + [k for k in range(1, len(grounded)) if may_replace(
            words_of(grounded[k].text), grounded[k].intent, top_words, top)]
        return grounded[max(allowed, key=lambda k: (intent_quality(grounded[k].intent), -k))]

    def _doubtful(self, text: str, intent: Intent) -> bool:
        """Whether a transcript is worth rescoring: its intent would ask back or means
        nothing, it holds words the world does not know, or a word stands where the grammar
        wants another kind (:func:`~embodied_collab.speech.rescoring.suspect_spans`: "the
        right apple", a room this world does not have)."""
        if intent.kind in ("stop", "cancel"):
            return False
        if intent.ask_back is not None or intent.kind == "unknown":
            return True
        known = self.corrector.known | GRAMMAR_WORDS
        words = words_of(text)
        return any(w not in known for w in words) or \
            bool(suspect_spans(words, self.corrector.known, self.vocabulary))

    def _rescore(self, tr: Any, text: str, intent: Intent, extra: list[str] | None = None
                 ) -> tuple[str, Intent] | None:
        """World-constrained rescoring of a doubtful transcript (see
        :mod:`embodied_collab.speech.rescoring`): candidates from the world's names and the
        grammar, judged by forced decoding. The best-scoring candidate whose intent is
        actionable (no ask-back) and no worse is taken if its mean log-probability per token
        is at most ``rescore_margin`` (the transcript's intent is not actionable) or
        ``rescore_margin_oov`` (it is, but holds unknown words) below the transcript's.
        ``extra`` candidates (the spelling correction of ``text``) are judged with the
        first round's."""
        if not self._doubtful(text, intent):
            return None
        words = words_of(text)
        doubtful = intent.ask_back is not None or intent.kind == "unknown"
        known = self.corrector.known | GRAMMAR_WORDS
        stop = self.config.stop_spotting and doubtful and len(words) <= _STOP_SPOT_WORDS
        if not (self.config.world_rescoring or stop):
            return None
        current, cur_intent = " ".join(words), intent
        cur_score: float | None = None
        # orders to go to the one place heard: only where the decoder prefers them
        go_orders = set(go_to_named_place(words, self.vocabulary)) if stop else set()
        changed = False
        # taking the spelling correction (which may change several spans) uses up a round
        for _ in range(_RESCORE_ROUNDS + bool(extra)):
            cands = candidate_texts(current.split(), self.corrector.known, self.vocabulary,
                                    stop_words=stop and not changed,
                                    max_candidates=self.config.rescore_candidates)
            if extra and cur_score is None:
                cands = [c for c in extra if c != current] + \
                    [c for c in cands if c not in extra]
            if not self.config.world_rescoring:
                cands = [c for c in cands if quick_command(c) is not None]
            if not cands:
                break
            texts = cands if cur_score is not None else [current] + cands
            scores = self.transcriber.score(tr, [sentence(t) for t in texts])
            if cur_score is None:
                cur_score, scores, texts = scores[0], scores[1:], texts[1:]
            # the decoder prefers its own transcript even when it is wrong (that is how it
            # chose it); a candidate that makes sense may lose a little against it: more when
            # the transcript's intent is not actionable, less when only unknown words doubt it
            actionable = _actionable(cur_intent)
            margin = self.config.rescore_margin_oov if actionable else \
                self.config.rescore_margin
            order = sorted(range(len(texts)), key=lambda k: -scores[k])
            took = False
            for k in order:
                if scores[k] < cur_score - margin:
                    break
                if texts[k] in go_orders and scores[k] <= cur_score:
                    continue
                k = stop_over_cancel(texts, scores, k, self.config.stop_over_cancel_margin)
                new_intent = self.grounder.ground(texts[k])
                # an actionable transcript is only replaced by a more confident intent, a
                # text the decoder itself prefers, or one with fewer unknown words
                better = not actionable or scores[k] > cur_score or \
                    new_intent.confidence > cur_intent.confidence + 1e-9 or \
                    _unknown(texts[k], known) < _unknown(current, known) or \
                    self._suspects(texts[k]) < self._suspects(current)
                if _actionable(new_intent) and better and _no_worse(new_intent, cur_intent):
                    current, cur_intent, cur_score = texts[k], new_intent, scores[k]
                    changed = took = True
                    break
            logger.debug("rescoring %r: best %r (%.3f)", text, current, cur_score)
            if not took or not any(w not in known for w in current.split()) \
                    and cur_intent.ask_back is None and not self._suspects(current):
                break
        return (current, cur_intent) if changed else None

    def _recheck(self, audio: np.ndarray, tr: Any, text: str, intent: Intent
                 ) -> tuple[str, Intent] | None:
        """The second opinion: world names and prepositions of ``text`` that the second
        model doubts (word log-probability below ``second_opinion_doubt``) are swapped for
        the others of their kind (:func:`~embodied_collab.speech.rescoring.slot_candidates`);
        the few candidates the second model prefers most to the transcript are judged by the
        sum of both models' forced-decoding scores. One that beats the transcript by more
        than ``second_opinion_margin`` and grounds to a task that asks back no more than the
        transcript's is taken."""
        assert self.second is not None
        words = words_of(text)
        states = self.second.encode(audio)
        fits = self.second.word_scores(states, sentence(" ".join(words)))
        doubted = sorted((i for i, f in enumerate(fits) if f < self.config.second_opinion_doubt),
                         key=lambda i: fits[i])
        cands = slot_candidates(words, doubted, self.vocabulary,
                                max_candidates=self.config.second_opinion_candidates)
        if not cands:
            return None
        texts = [sentence(t) for t in [" ".join(words), *cands]]
        second = self.second.score(states, texts)
        # Whisper wrote the transcript, so it prefers it: only the candidates the second
        # model prefers to the transcript can win, and only the best few are scored by both
        finalists = sorted((k for k in range(1, len(texts)) if second[k] > second[0]),
                           key=lambda k: -second[k])[:_RECHECK_FINALISTS]
        if not finalists:
            return None
        first = self.transcriber.score(tr, [texts[0]] + [texts[k] for k in finalists])
        fused = {k: first[j] + second[k] for j, k in enumerate([0, *finalists])}
        for k in sorted(finalists, key=lambda k: -fused[k]):
            if fused[k] <= fused[0] + self.config.second_opinion_margin:
                break
            new = self.grounder.ground(cands[k - 1])
            if new.kind == "task" and (new.ask_back is None or intent.ask_back is not None):
                logger.debug("recheck %r -> %r (%.3f > %.3f)", text, cands[k - 1], fused[k],
                             fused[0])
                return cands[k - 1], new
        return None

    def _suspects(self, text: str) -> int:
        """How many spans of ``text`` the grammar doubts (:func:`suspect_spans`)."""
        return len(suspect_spans(text.split(), self.corrector.known, self.vocabulary))

    def _empty(self, audio_s: float, elapsed: float) -> SpeechResult:
        intent = Intent("unknown", 0.0, "", ask_back="I did not hear anything. Please repeat.")
        return SpeechResult(text="", raw_text="", intent=intent, audio_s=audio_s, speech_s=0.0,
                            latency_s=elapsed, timings={"vad": elapsed})

    # -- streams ------------------------------------------------------------------------------
    def listen(self, chunks: Iterable[np.ndarray], sample_rate: int = SAMPLE_RATE
               ) -> Iterator[SpeechResult]:
        """Results for a live stream, one per command cut by VAD.

        An utterance is decoded as soon as ``speculative_ms`` of silence follow it; when the
        end-of-speech wait (``min_silence_ms``) then confirms the end, that result is used, so
        the wait and the decoding overlap (audio keeps arriving, buffered, while decoding runs).
        ``ready_s`` is the stream time the intent is ready, assuming chunks arrive in real time;
        ``latency_s`` is ``ready_s`` minus the end of the last voiced frame.

        A command spoken as two sentences with a pause between them ("There is a yellow cup
        in the house. Put it on the shelf.") is joined: an utterance whose intent is
        incomplete (it asks back, or names no verb) is held for ``merge_window_ms``; if the
        next utterance starts within that time and the joined text grounds to a better intent,
        one result for both is given. An utterance that is incomplete on its own and refers
        back ("put it on the shelf") is joined with the previous one the same way.
        """
        window = self.config.merge_window_ms / 1000.0
        held: SpeechResult | None = None
        last: SpeechResult | None = None
        for item in self._stream(chunks, sample_rate):
            if isinstance(item, tuple):  # (stream time, utterance open): release a held result
                now, in_speech = item
                if held is not None and not in_speech and now - _end(held) >= window:
                    held.ready_s = max(held.ready_s, now)
                    held.latency_s = held.ready_s - _end(held)
                    last, held = held, None
                    yield last
                continue
            res = item
            if held is not None:
                joined = self._join(held, res) if res.start_s - _end(held) <= window else None
                prev, held = held, None
                if joined is not None:
                    last = joined
                    yield joined
                    continue
                last = prev
                yield prev
            elif last is not None and window > 0 and _incomplete(res) and _refers_back(res) \
                    and res.start_s - _end(last) <= window:
                joined = self._join(last, res)
                if joined is not None:
                    last = joined
                    yield joined
                    continue
            if window > 0 and _holdable(res):
                held = res
            else:
                last = res
                yield res
        if held is not None:
            yield held

    def _join(self, first: SpeechResult, second: SpeechResult) -> SpeechResult | None:
        """One result for two utterances of one command, or None if joining does not help."""
        if second.intent.kind in ("stop", "cancel"):
            return None
        t0 = time.perf_counter()
        text = f"{first.text} {second.text}".strip()
        intent = self.grounder.ground(text)
        dt = time.perf_counter() - t0
        if intent.kind != "task" or intent.confidence < max(
                first.intent.confidence if first.intent.kind == "task" else 0.0,
                second.intent.confidence if second.intent.kind == "task" else 0.0):
            return None
        if intent.ask_back is not None and (first.intent.ask_back is None or
                                            second.intent.ask_back is None):
            return None
        timings = dict(second.timings)
        timings["ground"] = timings.get("ground", 0.0) + dt
        timings["merged"] = 1.0
        return SpeechResult(
            text=text, raw_text=f"{first.raw_text} {second.raw_text}".strip(), intent=intent,
            audio_s=first.audio_s + second.audio_s, speech_s=first.speech_s + second.speech_s,
            latency_s=second.latency_s + dt, start_s=first.start_s,
            detected_s=second.detected_s, ready_s=second.ready_s + dt, timings=timings)

    def _stream(self, chunks: Iterable[np.ndarray], sample_rate: int
                ) -> Iterator[SpeechResult | tuple[float, bool]]:
        """One result per VAD utterance, and ``(stream time, in speech)`` after each chunk."""
        if self.vad is None:
            self.vad = SileroVad()
        seg = UtteranceSegmenter(self.config, self.vad)
        spec: tuple[Utterance, SpeechResult, float] | None = None
        pos = 0.0
        for chunk in chunks:
            t_in = time.perf_counter()
            audio = resample(to_float_mono(chunk), int(sample_rate))
            pos += audio.size / SAMPLE_RATE
            utts = seg.feed(audio)
            for utt in utts:
                if utt.tentative:
                    res = self.recognize(utt.audio)
                    spec = (utt, res, utt.detected_s + time.perf_counter() - t_in)
                    continue
                yield self._finish(utt, spec, t_in)
                spec = None
            yield (pos, seg.in_speech)
        t_in = time.perf_counter()
        for utt in seg.flush():
            yield self._finish(utt, spec, t_in)

    def _finish(self, utt: Utterance, spec: tuple[Utterance, SpeechResult, float] | None,
                t_in: float) -> SpeechResult:
        if spec is not None and spec[0].start_s == utt.start_s and \
                spec[0].speech_end_s == utt.speech_end_s:
            result, ready = spec[1], max(spec[2], utt.detected_s)
            result.timings["speculative"] = 1.0
        else:
            result, ready = self.recognize(utt.audio), utt.detected_s
        ready += time.perf_counter() - t_in
        result.start_s = utt.start_s
        result.detected_s = utt.detected_s
        result.ready_s = ready
        result.latency_s = ready - utt.speech_end_s
        result.timings["endpoint_wait"] = utt.detected_s - utt.speech_end_s
        return result


def _end(res: SpeechResult) -> float:
    """Stream time the speech of ``res`` ended."""
    return res.ready_s - res.latency_s


def stop_over_cancel(texts: list[str], scores: list[float], k: int, margin: float) -> int:
    """Candidate ``k``, or the best stop order scoring within ``margin`` of it when ``k`` is a
    cancel: where the audio barely tells them apart, the order that drops no waiting command
    wins (both halt the robot; a cancel also clears the queue)."""
    if quick_command(texts[k]) != "cancel":
        return k
    stops = [j for j in range(len(texts))
             if quick_command(texts[j]) == "stop" and scores[j] >= scores[k] - margin]
    return max(stops, key=lambda j: scores[j]) if stops else k


def _actionable(intent: Intent) -> bool:
    """An intent the robot can act on: no ask-back, or a second sentence ("place it on the
    bed in the bedroom") whose one gap is the object that its "it" refers back to."""
    if intent.kind == "unknown":
        return False
    if intent.ask_back is None:
        return True
    return intent.questions == (WHICH_OBJECT_TO_BRING,) and \
        bool(set(words_of(intent.text)) & {"it", "them"})


def _unknown(text: str, known: set[str] | frozenset[str]) -> int:
    return sum(w not in known for w in text.split())


def _no_worse(new: Intent, old: Intent) -> bool:
    """Whether a rescored transcript's intent may replace the original's: a task that does
    not ask back (or asks back where the original did too), or a stop/cancel for an utterance
    that meant nothing."""
    if new.kind in ("stop", "cancel"):
        return old.kind == "unknown" or old.ask_back is not None
    if new.kind != "task":
        return old.kind != "task"
    if old.kind != "task":
        return True
    return (new.ask_back is None or old.ask_back is not None) and \
        new.confidence >= old.confidence - 1e-9


def _incomplete(res: SpeechResult) -> bool:
    return res.intent.kind == "unknown" and bool(res.text) or \
        res.intent.kind == "task" and res.intent.ask_back is not None


def _holdable(res: SpeechResult) -> bool:
    """An intent that may be the first half of a command: incomplete, or with no verb."""
    if res.intent.kind in ("stop", "cancel") or not res.text:
        return False
    return _incomplete(res) or not any(w in VERBS for w in words_of(res.text))


def _refers_back(res: SpeechResult) -> bool:
    return bool(set(words_of(res.text)) & _BACK_REFERENCES)


def is_stop(text: str) -> bool:
    """True for an immediate ``stop``/``cancel`` command (no model needed)."""
    return quick_command(text) is not None
