# A bench input, not part of our product: a Pipecat voice agent (Silero VAD, Deepgram, OpenAI, ElevenLabs) in one
# LiveKit room, pointed at our fake vendors through the services' documented base-URL options. Run by the bench with
# the interpreter of the virtualenv it installed Pipecat into (.bench/peers/pipecat-venv), so every import resolves
# there. It joins with the agent token the bench minted (kind "agent"), as LiveKit's own agents do.
#
# BENCH_PEER_MODE=defaults: Pipecat as shipped: Silero VAD with its default parameters, the default user-turn
# strategies (VAD start; Smart Turn v3, the model in the pipecat-ai wheel, for the stop), the services' defaults.
import asyncio
import json
import os
import signal

from pipecat.audio.vad.silero import SileroVADAnalyzer
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
from pipecat.transports.livekit.transport import LiveKitParams, LiveKitTransport

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
    stt = DeepgramSTTService(api_key=env("DEEPGRAM_API_KEY"), base_url=env("DEEPGRAM_BASE_URL"))
    llm = OpenAILLMService(api_key=env("OPENAI_API_KEY"), base_url=env("OPENAI_BASE_URL"))
    tts = ElevenLabsTTSService(
        api_key=env("ELEVENLABS_API_KEY"),
        voice_id="21m00Tcm4TlvDq8ikWAM",
        url=env("ELEVENLABS_BASE_URL").replace("http", "ws", 1),
    )
    context = LLMContext([{"role": "system", "content": SYSTEM_PROMPT}])
    aggregators = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
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
