"""On-board speech on ROS 2: audio in; transcripts and grounded intents out; text to speak in.

A thin adapter over :class:`embodied_collab.speech.pipeline.SpeechPipeline`. Audio arrives as
``std_msgs/Float32MultiArray`` (mono samples in [-1, 1] at the ``audio_sample_rate``
parameter; std_msgs has no audio type and the interfaces package holds builtin types only), and
optionally from the microphone. Utterances are cut by voice activity; each gives a transcript
(``std_msgs/String``) and an ``Intent``. Text on the say topic is synthesized, published as
audio (same format and rate) and played when ``play_replies`` is set and a sound device exists.
An intent below the confidence threshold is not acted on: its question goes to the say topic.
The models load in a background thread (``preload``) or on the first audio, so the graph
starts at once; ``/speech/ready`` (latched ``std_msgs/Bool``) turns true when they are loaded.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

import numpy as np
from rclpy.node import Node
from std_msgs.msg import Bool, Float32MultiArray, String

from embodied_collab.ros import interfaces, qos
from embodied_collab.ros.graph import TOPICS
from embodied_collab.ros.params import ParameterMirror
from embodied_collab.speech.config_speech import SpeechConfig, SpeechNodeConfig

_READ_ONLY = tuple(SpeechNodeConfig.__dataclass_fields__)  # models and world load once
#: A gap in the audio stream this long is read as silence (so a published utterance ends).
_GAP_S = 0.3


def intent_fields(intent: Any) -> dict[str, Any]:
    """The ``Intent`` message fields of a core intent: ``verb`` is the task verb, or ``stop`` /
    ``cancel``, or "" when nothing was understood; ``target`` is where to go (the destination,
    or for ``find`` where to look)."""
    s = intent.slots
    verb = (intent.verb or "") if intent.kind == "task" else \
        "" if intent.kind == "unknown" else intent.kind
    target = s.get("target") or s.get("target_room") or s.get("source") or \
        s.get("source_room") or ""
    return {"text": intent.text, "verb": verb, "object": s.get("object", ""),
            "target": target, "confidence": float(intent.confidence)}


class SpeechNode(Node):
    """ROS 2 node running the speech pipeline (see the module docstring and docs/speech.md)."""

    def __init__(self, name: str = "speech", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._params = ParameterMirror(self, SpeechNodeConfig, read_only=_READ_ONLY)
        cfg = self._params.config
        msgs = interfaces.msg()
        if msgs is None:
            raise RuntimeError("embodied_collab_interfaces is not built (scripts/build_ros_ws.sh)")
        self._intent_cls = msgs.Intent
        self._audio: queue.Queue[np.ndarray] = queue.Queue(maxsize=2000)
        self._texts: queue.Queue[str] = queue.Queue(maxsize=50)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._load_lock = threading.Lock()
        self.pipeline: Any = None
        self.speaker: Any = None
        self.results = 0
        self._pub_text = self.create_publisher(String, TOPICS["transcript"], qos.state_qos())
        self._pub_intent = self.create_publisher(msgs.Intent, TOPICS["intent"], qos.state_qos())
        self._pub_say = self.create_publisher(String, TOPICS["say"], qos.command_qos())
        self._pub_audio = self.create_publisher(Float32MultiArray, TOPICS["speech_audio"],
                                                qos.command_qos())
        self._pub_ready = self.create_publisher(Bool, TOPICS["speech_ready"], qos.latched_qos())
        self._pub_ready.publish(Bool(data=False))
        self.create_subscription(Float32MultiArray, TOPICS["audio"], self._on_audio,
                                 qos.command_qos(depth=200))
        self.create_subscription(String, TOPICS["say"], self._on_say, qos.command_qos())
        self._threads = [threading.Thread(target=self._listen, name="speech-listen", daemon=True),
                         threading.Thread(target=self._speak, name="speech-say", daemon=True)]
        if cfg.microphone:
            self._threads.append(threading.Thread(target=self._microphone, daemon=True,
                                                  name="speech-mic"))
        for t in self._threads:
            t.start()
        if cfg.preload:
            threading.Thread(target=self._load, name="speech-load", daemon=True).start()
        self.get_logger().info(f"speech: model {cfg.model}, audio {TOPICS['audio']} at "
                               f"{cfg.audio_sample_rate} Hz, intents on {TOPICS['intent']}")

    # -- models -------------------------------------------------------------------------------
    def _load(self) -> bool:
        with self._load_lock:
            if self._ready.is_set():
                return True
            cfg = self._params.config
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except OSError:
                pass  # loading at normal priority is fine too
            t0 = time.perf_counter()
            try:
                from embodied_collab.speech.pipeline import SpeechPipeline

                self.pipeline = SpeechPipeline(_core(cfg), _world(cfg))
                self.pipeline.warm_up()
            except Exception as exc:  # the node stays up and says why it cannot hear
                self.get_logger().error(f"speech models not loaded: {exc}")
                return False
            self._ready.set()
            self._pub_ready.publish(Bool(data=True))
            self.get_logger().info(f"speech models ready in {time.perf_counter() - t0:.1f} s")
            return True

    @property
    def ready(self) -> bool:
        """True once the ASR, VAD and embedding models are loaded."""
        return self._ready.is_set()

    # -- hearing ------------------------------------------------------------------------------
    def _on_audio(self, msg: Float32MultiArray) -> None:
        try:
            self._audio.put_nowait(np.asarray(msg.data, dtype=np.float32))
        except queue.Full:
            self.get_logger().warning("speech: audio queue full, dropping a chunk")

    def _microphone(self) -> None:
        from embodied_collab.speech.audio import microphone_chunks

        try:
            for block in microphone_chunks(sample_rate=self._params.config.audio_sample_rate):
                if self._stop.is_set():
                    return
                self._audio.put(block)
        except Exception as exc:  # no sound device: the topic still works
            self.get_logger().warning(f"speech: no microphone input: {exc}")

    def _chunks(self):
        rate = self._params.config.audio_sample_rate
        last = None
        while not self._stop.is_set():
            try:
                chunk = self._audio.get(timeout=_GAP_S)
            except queue.Empty:
                if last is not None and time.monotonic() - last < 5.0:
                    yield np.zeros(int(_GAP_S * rate), np.float32)  # a gap is silence
                continue
            last = time.monotonic()
            yield chunk

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._audio.get(timeout=0.2)
            except queue.Empty:
                continue
            if not self._load():
                return
            rate = self._params.config.audio_sample_rate
            try:
                for res in self.pipeline.listen(_prepend(first, self._chunks()), rate):
                    self._publish(res)
            except Exception as exc:  # bad audio must not stop the node
                self.get_logger().warning(f"speech: audio stream error: {exc}")

    def _publish(self, res: Any) -> None:
        if not res.text:
            return
        self.results += 1
        intent = res.intent
        self._pub_text.publish(String(data=res.text))
        msg = self._intent_cls(stamp_ns=self.get_clock().now().nanoseconds, source="speech",
                               **intent_fields(intent))
        self._pub_intent.publish(msg)
        self.get_logger().info(f"heard {res.text!r} -> {intent.kind} {intent.verb} "
                               f"{intent.slots} ({intent.confidence:.2f}, "
                               f"{res.latency_s:.2f} s)")
        if intent.ask_back and self._params.config.speak_ask_back:
            self._pub_say.publish(String(data=intent.ask_back))

    # -- speaking -----------------------------------------------------------------------------
    def _on_say(self, msg: String) -> None:
        if msg.data.strip():
            try:
                self._texts.put_nowait(msg.data)
            except queue.Full:
                self.get_logger().warning(f"speech: too much to say, dropping {msg.data!r}")

    def _speak(self) -> None:
        from embodied_collab.speech.audio import resample
        from embodied_collab.speech.tts import Speaker, play_audio

        while not self._stop.is_set():
            try:
                text = self._texts.get(timeout=0.2)
            except queue.Empty:
                continue
            cfg = self._params.config
            try:
                if self.speaker is None:
                    self.speaker = Speaker(_core(cfg))
                audio = self.speaker.say(text)
                out = resample(audio, self.speaker.sample_rate, cfg.audio_sample_rate)
            except Exception as exc:
                self.get_logger().warning(f"speech: cannot say {text!r}: {exc}")
                continue
            self._pub_audio.publish(Float32MultiArray(data=out.astype(np.float32).tolist()))
            if cfg.play_replies:
                play_audio(out, cfg.audio_sample_rate)

    def destroy_node(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        super().destroy_node()


def _prepend(first: np.ndarray, rest: Any):
    yield first
    yield from rest


def _core(cfg: SpeechNodeConfig) -> SpeechConfig:
    return SpeechConfig(**{k: getattr(cfg, k) for k in SpeechConfig.__dataclass_fields__})


def _world(cfg: SpeechNodeConfig) -> Any:
    if cfg.world_path:
        from embodied_collab.sim.world import World

        return World.load(cfg.world_path)
    if cfg.world_seed < 0:
        return None
    from embodied_collab.sim.generate import generate_world

    return generate_world(cfg.world_seed)
