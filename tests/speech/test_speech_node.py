"""The speech node over real DDS with the real models: a spoken command published as audio comes
back as a transcript and a grounded intent; text on the say topic comes back as audio."""

from __future__ import annotations

import time

import numpy as np
import pytest

from embodied_collab.ros import interfaces, procs

pytestmark = [pytest.mark.ros, pytest.mark.models,
              pytest.mark.skipif(not interfaces.load(), reason="ros_ws not built")]

COMMAND = "Bring the red cup from the kitchen table to the desk in the office."
RATE = 16000


def _wait(executor, predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        executor.spin_once(timeout_sec=0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_spoken_command_to_transcript_and_intent_and_text_to_audio():
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import Bool, Float32MultiArray, String

    from embodied_collab.ros import qos
    from embodied_collab.ros.graph import TOPICS
    from embodied_collab.ros.host import spin_in_thread, stop_spinning
    from embodied_collab.ros.speech_node import SpeechNode
    from embodied_collab.speech.audio import resample
    from embodied_collab.speech.config_speech import SpeechConfig
    from embodied_collab.speech.tts import Speaker

    domain = procs.unique_domain_id(7919)
    procs.use_private_domain(domain)
    speaker = Speaker(SpeechConfig())
    speech = resample(speaker.say(COMMAND), speaker.sample_rate, RATE)
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), speech,
                            np.zeros(RATE, np.float32)])

    ctx_node, ctx_probe = Context(), Context()
    for ctx in (ctx_node, ctx_probe):
        rclpy.init(context=ctx, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
    node = probe = node_exec = probe_exec = thread = stopped = None
    try:
        node = SpeechNode(context=ctx_node, parameter_overrides=[
            Parameter("world_seed", value=-1), Parameter("speak_ask_back", value=False)])
        node_exec = MultiThreadedExecutor(context=ctx_node)
        node_exec.add_node(node)
        thread, stopped = spin_in_thread(node_exec)

        probe = rclpy.create_node("speech_probe", context=ctx_probe)
        probe_exec = SingleThreadedExecutor(context=ctx_probe)
        probe_exec.add_node(probe)
        got: dict[str, list] = {"ready": [], "text": [], "intent": [], "audio": []}
        probe.create_subscription(Bool, TOPICS["speech_ready"],
                                  lambda m: got["ready"].append(m.data), qos.latched_qos())
        probe.create_subscription(String, TOPICS["transcript"],
                                  lambda m: got["text"].append(m.data), qos.state_qos())
        probe.create_subscription(interfaces.msg().Intent, TOPICS["intent"],
                                  got["intent"].append, qos.state_qos())
        probe.create_subscription(Float32MultiArray, TOPICS["speech_audio"],
                                  lambda m: got["audio"].append(np.asarray(m.data)),
                                  qos.command_qos())
        pub_audio = probe.create_publisher(Float32MultiArray, TOPICS["audio"],
                                           qos.command_qos(depth=200))
        pub_say = probe.create_publisher(String, TOPICS["say"], qos.command_qos())
        _wait(probe_exec, lambda: any(got["ready"]), 90.0, "the speech models to load")
        _wait(probe_exec, lambda: pub_audio.get_subscription_count() > 0, 10.0, "discovery")

        chunk = 1024  # 64 ms, as a microphone driver would publish
        for k in range(0, audio.size, chunk):
            pub_audio.publish(Float32MultiArray(data=audio[k:k + chunk].tolist()))
            probe_exec.spin_once(timeout_sec=0.005)
        _wait(probe_exec, lambda: got["intent"], 30.0, "the intent")
        intent = got["intent"][0]
        assert got["text"] and "cup" in got["text"][0].lower(), got["text"]
        assert intent.verb == "bring" and intent.object == "cup", intent
        assert intent.target == "desk" and intent.source == "speech"
        assert 0.6 <= intent.confidence <= 1.0

        pub_say.publish(String(data="I will bring the red cup to the desk."))
        _wait(probe_exec, lambda: got["audio"], 30.0, "the spoken reply")
        reply = got["audio"][0]
        assert reply.size > RATE and np.abs(reply).max() > 0.05  # over a second of sound
    finally:
        if thread is not None:
            stop_spinning(node_exec, thread, stopped)
        if node is not None:
            node.destroy_node()
        if probe is not None:
            probe_exec.shutdown(timeout_sec=2.0)
            probe.destroy_node()
        for ctx in (ctx_node, ctx_probe):
            ctx.try_shutdown()
