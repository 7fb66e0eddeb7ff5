# A bench input, not part of our product: a Pipecat voice agent (Silero VAD, Deepgram, OpenAI, ElevenLabs) in one
# LiveKit room, pointed at our fake vendors through the services' documented base-URL options. Run by the bench with
# the interpreter of the virtualenv it installed Pipecat into (.bench/peers/pipecat-venv), so every import resolves
# there. It joins with the agent token the bench minted (kind "agent"), as LiveKit's own agents do.
#
# BENCH_PEER_MODE=defaults: Pipecat as shipped: Silero VAD with its default parameters, the default user-turn
# strategies (VAD start; Smart Turn v3, the model in the pipecat-ai wheel, for the stop), the services' defaults.
# BENCH_PEER_MODE=fast: the lowest latency its documented options allow: no turn analyzer (the stop is
# SpeechTimeoutUserTurnStopStrategy with user_speech_timeout 0: the turn ends on the VAD's stop and a finalized
# transcript), Silero's stop_secs 0.1 (BENCH_PIPECAT_STOP_SECS; Pipecat sets no floor, its default is 0.2). Deepgram
# stays as shipped: Pipecat sends Finalize on the VAD's stop and its endpointing is Deepgram's default, 10 ms.
# BENCH_FAILOVER=1 (the fault runs): each service behind Pipecat's ServiceSwitcher with ServiceSwitcherStrategyFailover
# (LLMSwitcher for the LLM), secondaries on other fakes: Groq through the OpenAI service's base_url, OpenAI speech,
# OpenAI whisper-1. Pipecat fails over only on an error its classifier calls permanent (or a websocket that gave up
# reconnecting); whatever it does with the rest is what the bench measures.
import asyncio
import json
import os
import signal

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.llm_switcher import LLMSwitcher
from pipecat.pipeline.service_switcher import ServiceSwitcher, ServiceSwitcherStrategyFailover
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.elevenlabs.tts import ElevenLabsTTSService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openai.stt import OpenAISTTService
from pipecat.services.openai.tts import OpenAITTSService
from pipecat.transports.livekit.transport import LiveKitParams, LiveKitTransport
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

SYSTEM_PROMPT = "You are a friendly, concise voice assistant. Answer in one to three short spoken sentences."


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"bench agent: {name} is not set")
    return value


async def main() -> None:
    transport = LiveKitTransport(
        url=env("LIVEKIT_URL"),
        token=env("BENCH_TOKEN"),
        room_name=env("BENCH_ROOM"),
        params=LiveKitParams(audio_in_enabled=True, audio_out_enabled=True),
    )
    mode = os.environ.get("BENCH_PEER_MODE", "defaults")
    if mode not in ("defaults", "fast"):
        raise SystemExit(f"bench agent: unknown BENCH_PEER_MODE {mode}")
    stt = DeepgramSTTService(api_key=env("DEEPGRAM_API_KEY"), base_url=env("DEEPGRAM_BASE_URL"))
    llm = OpenAILLMService(api_key=env("OPENAI_API_KEY"), base_url=env("OPENAI_BASE_URL"))
    tts = ElevenLabsTTSService(
        api_key=env("ELEVENLABS_API_KEY"),
        voice_id="21m00Tcm4TlvDq8ikWAM",
        url=env("ELEVENLABS_BASE_URL").replace("http", "ws", 1),
    )
    if os.environ.get("BENCH_FAILOVER") == "1":
        stt = ServiceSwitcher(
            services=[stt, OpenAISTTService(api_key=env("OPENAI_API_KEY"), base_url=env("OPENAI_BASE_URL"), model="whisper-1")],
            strategy_type=ServiceSwitcherStrategyFailover,
        )
        llm = LLMSwitcher(
            llms=[llm, OpenAILLMService(api_key=env("GROQ_API_KEY"), base_url=env("GROQ_BASE_URL") + "/openai/v1")],
            strategy_type=ServiceSwitcherStrategyFailover,
        )
        tts = ServiceSwitcher(
            services=[tts, OpenAITTSService(api_key=env("OPENAI_API_KEY"), base_url=env("OPENAI_BASE_URL"))],
            strategy_type=ServiceSwitcherStrategyFailover,
        )
    if mode == "fast":
        vad = SileroVADAnalyzer(params=VADParams(stop_secs=float(os.environ.get("BENCH_PIPECAT_STOP_SECS", "0.1"))))
        user_params = LLMUserAggregatorParams(
            vad_analyzer=vad,
            user_turn_strategies=UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.0)]),
        )
    else:
        user_params = LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    context = LLMContext([{"role": "system", "content": SYSTEM_PROMPT}])
    aggregators = LLMContextAggregatorPair(context, user_params=user_params)
    pipeline = Pipeline(
        [transport.input(), stt, aggregators.user(), llm, tts, transport.output(), aggregators.assistant()]
    )
    task = PipelineTask(pipeline, params=PipelineParams(enable_metrics=True))

    @transport.event_handler("on_first_participant_joined")
    async def on_first_participant_joined(_transport, participant_id):
        print(json.dumps({"bench": "caller_joined", "participant": participant_id}), flush=True)

    @transport.event_handler("on_participant_disconnected")
    async def on_participant_disconnected(_transport, _participant_id):
        await task.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(task.cancel()))
    await PipelineRunner(handle_sigint=False).run(task)


if __name__ == "__main__":
    asyncio.run(main())
