"""Configuration of the on-board speech component (VAD, ASR, grounding, TTS)."""

from __future__ import annotations

from dataclasses import dataclass

#: Words and phrases that stop the robot at once.
STOP_PHRASES: tuple[str, ...] = ("stop", "halt", "freeze", "stop now", "emergency stop", "wait")
#: Words and phrases that cancel the current task.
CANCEL_PHRASES: tuple[str, ...] = (
    "cancel",
    "cancel that",
    "never mind",
    "nevermind",
    "abort",
    "forget it",
    "forget that",
)

_COMPUTE_TYPES = ("int8", "int8_float32", "float32", "int16", "float16", "int8_float16")
_TTS_BACKENDS = ("hibari", "espeak")


@dataclass(kw_only=True)
class SpeechConfig:
    """Settings of :class:`embodied_collab.speech.asr.SpeechPipeline` and its parts.

    Attributes:
        model: an installed model asset name (``whisper-base-ct2``) or a path to a CTranslate2
            Whisper model directory (a bigger model for a bigger computer).
        compute_type: CTranslate2 compute type (``int8`` on CPU).
        cpu_threads: threads the ASR model uses.
        beam_size: decoding beam width (1 = greedy).
        num_hypotheses: n-best list size kept for rescoring against the world (<= beam_size).
        vocabulary_prompt: bias decoding with a prompt listing the world's vocabulary.
        trim_encoder: encode only the speech plus ``encoder_margin_s`` instead of Whisper's
            fixed 30 s window (much less compute for short commands).
        encoder_margin_s: silence kept after the speech when ``trim_encoder`` is on.
        denoise: apply a light Wiener-style denoiser to each utterance before the ASR.
        correct_words: replace out-of-vocabulary words by a close world word (fuzzy match).
        nbest_intent_margin: n-best transcripts whose decoder score (mean log-probability per
            token, less the out-of-vocabulary penalty) is within this much of the best are all
            grounded, and the most complete intent is taken (actionable, more slots filled);
            words the world does not know are first taken from another hypothesis that heard
            known words there (0 = the best-scoring transcript only).
        world_rescoring: when a transcript holds words the world does not know or its intent
            would ask back, build candidate commands from the world's names and the grammar
            and let the decoder pick by forced decoding against the audio.
        stop_spotting: a short utterance that means nothing is also scored against the
            stop/cancel orders (a decoder-forced keyword spotter).
        rescore_candidates: most candidates scored per rescoring round.
        rescore_margin: mean log-probability per token a candidate with an actionable intent
            may lose against a transcript whose intent is not actionable (asks back) and still
            replace it.
        rescore_margin_oov: the same for a transcript whose intent is actionable but that
            holds words the world does not know.
        stop_over_cancel_margin: when the stop spotter's best order is a cancel and a stop
            order scores within this much (mean log-probability per token), the stop is taken:
            both halt the robot, but a cancel also drops the waiting commands.
        correction_cutoff: similarity (0-1) a world word needs to replace a transcribed word.
        second_opinion: a second on-board ASR model that rechecks the world words of each
            transcript (:mod:`embodied_collab.speech.second_opinion`): an installed asset
            name (``moonshine-base-en``) or a model directory; ``""`` turns the check off.
        second_opinion_doubt: a world name (colour, size, object, room, furniture) or a
            preposition whose log-probability under the second model is below this is
            rechecked: every other word of its kind is a candidate.
        second_opinion_candidates: most candidates of one recheck.
        second_opinion_margin: how much higher the summed score of both models (mean
            log-probability per token, each) a candidate needs than the transcript to
            replace it.
        vad: cut utterances with silero-vad (else the whole input is one utterance).
        vad_threshold: speech probability above which a 32 ms frame counts as speech.
        min_silence_ms: silence that ends an utterance (the end-of-speech wait).
        speculative_ms: after this much silence the utterance is decoded already, while the
            end-of-speech wait runs on (0 = off); the result is used if the speaker stayed quiet.
        speech_pad_ms: audio kept before and after the voiced frames.
        min_speech_ms: shorter voiced runs are ignored (clicks, bumps).
        max_utterance_s: an utterance is cut after this long even without a pause.
        merge_window_ms: an utterance with an incomplete intent is joined with the next one if
            that starts within this time (a command spoken as two sentences); 0 = off.
        clip_fraction: inputs with more than this fraction of samples at full scale are
            rejected as clipped.
        ask_back_threshold: intents with a lower confidence ask back instead of acting.
        embedding_min_similarity: cosine similarity an unknown word needs to a world name to be
            read as that name (``tumbler`` -> cup).
        tts_backend: ``hibari`` (bundled neural voice) or ``espeak`` (espeak-ng program).
        tts_voice: voice name of the backend (``heart`` for hibari, ``en-us`` for espeak).
        tts_speed: speaking rate multiplier (0.5-2.0).
        language: spoken language code.
    """

    model: str = "whisper-base-ct2"
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 3
    num_hypotheses: int = 3
    vocabulary_prompt: bool = True
    trim_encoder: bool = True
    encoder_margin_s: float = 1.0
    denoise: bool = False
    correct_words: bool = True
    nbest_intent_margin: float = 0.15
    world_rescoring: bool = True
    stop_spotting: bool = True
    rescore_candidates: int = 16
    rescore_margin: float = 1.5
    rescore_margin_oov: float = 0.6
    stop_over_cancel_margin: float = 0.5
    correction_cutoff: float = 0.75
    second_opinion: str = "moonshine-base-en"
    second_opinion_doubt: float = -4.0
    second_opinion_candidates: int = 32
    second_opinion_margin: float = 0.0
    vad: bool = True
    vad_threshold: float = 0.5
    min_silence_ms: int = 400
    speculative_ms: int = 160
    speech_pad_ms: int = 160
    min_speech_ms: int = 120
    max_utterance_s: float = 20.0
    merge_window_ms: int = 1500
    clip_fraction: float = 0.05
    ask_back_threshold: float = 0.6
    embedding_min_similarity: float = 0.55
    tts_backend: str = "hibari"
    tts_voice: str = "heart"
    tts_speed: float = 1.0
    language: str = "en"

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model must be an asset name or a path, got {self.model!r}")
        if self.compute_type not in _COMPUTE_TYPES:
            raise ValueError(f"compute_type must be one of {_COMPUTE_TYPES}, got "
                             f"{self.compute_type!r}")
        if not 1 <= self.cpu_threads <= 64:
            raise ValueError(f"cpu_threads must be in [1, 64], got {self.cpu_threads!r}")
        if not 1 <= self.beam_size <= 16:
            raise ValueError(f"beam_size must be in [1, 16], got {self.beam_size!r}")
        if not 1 <= self.num_hypotheses <= self.beam_size:
            raise ValueError(f"num_hypotheses must be in [1, beam_size={self.beam_size}], got "
                             f"{self.num_hypotheses!r}")
        if not 0.0 <= self.encoder_margin_s <= 30.0:
            raise ValueError(f"encoder_margin_s must be in [0, 30], got {self.encoder_margin_s!r}")
        if not 1 <= self.rescore_candidates <= 64:
            raise ValueError(f"rescore_candidates must be in [1, 64], got "
                             f"{self.rescore_candidates!r}")
        for name in ("rescore_margin", "rescore_margin_oov", "stop_over_cancel_margin",
                     "nbest_intent_margin"):
            if not 0.0 <= getattr(self, name) <= 10.0:
                raise ValueError(f"{name} must be in [0, 10], got {getattr(self, name)!r}")
        if not 0.0 < self.correction_cutoff <= 1.0:
            raise ValueError(f"correction_cutoff must be in (0, 1], got "
                             f"{self.correction_cutoff!r}")
        if not isinstance(self.second_opinion, str):
            raise ValueError(f"second_opinion must be an asset name, a path or \"\", got "
                             f"{self.second_opinion!r}")
        if not -50.0 <= self.second_opinion_doubt <= 0.0:
            raise ValueError(f"second_opinion_doubt must be in [-50, 0], got "
                             f"{self.second_opinion_doubt!r}")
        if not 1 <= self.second_opinion_candidates <= 64:
            raise ValueError(f"second_opinion_candidates must be in [1, 64], got "
                             f"{self.second_opinion_candidates!r}")
        if not 0.0 <= self.second_opinion_margin <= 10.0:
            raise ValueError(f"second_opinion_margin must be in [0, 10], got "
                             f"{self.second_opinion_margin!r}")
        if not 0.0 < self.vad_threshold < 1.0:
            raise ValueError(f"vad_threshold must be in (0, 1), got {self.vad_threshold!r}")
        if not 32 <= self.min_silence_ms <= 5000:
            raise ValueError(f"min_silence_ms must be in [32, 5000], got {self.min_silence_ms!r}")
        if not 0 <= self.speculative_ms < self.min_silence_ms:
            raise ValueError(f"speculative_ms must be in [0, min_silence_ms="
                             f"{self.min_silence_ms}), got {self.speculative_ms!r}")
        if not 0 <= self.speech_pad_ms <= 2000:
            raise ValueError(f"speech_pad_ms must be in [0, 2000], got {self.speech_pad_ms!r}")
        if not 0 <= self.min_speech_ms <= 5000:
            raise ValueError(f"min_speech_ms must be in [0, 5000], got {self.min_speech_ms!r}")
        if not 1.0 <= self.max_utterance_s <= 30.0:
            raise ValueError(f"max_utterance_s must be in [1, 30], got {self.max_utterance_s!r}")
        if not isinstance(self.merge_window_ms, int) or not 0 <= self.merge_window_ms <= 10000:
            raise ValueError(f"merge_window_ms must be in [0, 10000], got "
                             f"{self.merge_window_ms!r}")
        if not 0.0 < self.clip_fraction <= 1.0:
            raise ValueError(f"clip_fraction must be in (0, 1], got {self.clip_fraction!r}")
        if not 0.0 <= self.ask_back_threshold <= 1.0:
            raise ValueError(f"ask_back_threshold must be in [0, 1], got "
                             f"{self.ask_back_threshold!r}")
        if not 0.0 < self.embedding_min_similarity <= 1.0:
            raise ValueError(f"embedding_min_similarity must be in (0, 1], got "
                             f"{self.embedding_min_similarity!r}")
        if self.tts_backend not in _TTS_BACKENDS:
            raise ValueError(f"tts_backend must be one of {_TTS_BACKENDS}, got "
                             f"{self.tts_backend!r}")
        if not isinstance(self.tts_voice, str) or not self.tts_voice:
            raise ValueError(f"tts_voice must be a voice name, got {self.tts_voice!r}")
        if not 0.5 <= self.tts_speed <= 2.0:
            raise ValueError(f"tts_speed must be in [0.5, 2.0], got {self.tts_speed!r}")
        if not isinstance(self.language, str) or len(self.language) != 2:
            raise ValueError(f"language must be a two-letter code, got {self.language!r}")


@dataclass(kw_only=True)
class SpeechNodeConfig(SpeechConfig):
    """Parameters of the ROS speech node: every :class:`SpeechConfig` field, and

    Attributes:
        audio_sample_rate: sample rate (Hz) of the audio topic in and of the synthesized audio
            published out (``std_msgs/Float32MultiArray``, mono samples in [-1, 1]).
        microphone: also listen to the default microphone (needs ``sounddevice``).
        play_replies: play spoken replies on the default sound device when one exists (they
            are always published on the audio-out topic).
        world_seed: seed of the generated household whose names bias decoding and ground
            intents (the simulator node's ``world_seed``; -1 = the catalog's vocabulary only).
        world_path: a world JSON file instead of ``world_seed`` ("" = use ``world_seed``).
        preload: load the models in a background thread at start (readiness is published on
            the ready topic); else they load on the first audio.
        speak_ask_back: say the question aloud when an intent is below the confidence
            threshold.
    """

    audio_sample_rate: int = 16000
    microphone: bool = False
    play_replies: bool = False
    world_seed: int = 0
    world_path: str = ""
    preload: bool = True
    speak_ask_back: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.audio_sample_rate, int) or not (
                8000 <= self.audio_sample_rate <= 192000):
            raise ValueError(f"audio_sample_rate must be in [8000, 192000] Hz, got "
                             f"{self.audio_sample_rate!r}")
        if not isinstance(self.world_seed, int) or isinstance(self.world_seed, bool) or (
                self.world_seed < -1):
            raise ValueError(f"world_seed must be an integer >= -1, got {self.world_seed!r}")
        if not isinstance(self.world_path, str):
            raise ValueError(f"world_path must be a string, got {self.world_path!r}")
