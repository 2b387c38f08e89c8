"""An A2A 1.0 agent made with the official Python SDK (a2a-sdk 1.3's server),
registered as a claude-comms module by the tests. It listens on a free
loopback port, prints `PORT <n>` once it serves, and wants the bearer token
of the environment variable A2A_AGENT_TOKEN when that is set.

What it answers (streaming or not):
* `ASK: <question>`: input-required with <question>; the next message to
  the task completes it with "thanks, you said: <answer>";
* a text with `SLOW`: a working update saying "looking into it", a second's
  work, then the echo below;
* a text with `STALL`: prints `stalling` and works for ten minutes (a test
  cancels it, which prints `cancelled`, or kills it mid-stream);
* anything else: "echo: <text> (turn <n> of context <contextId>)", <n>
  counting the messages of that context.

Usage: a2a_agent.py
"""

import asyncio
import os
import socket
import sys
from collections import Counter

import uvicorn
from a2a.helpers.proto_helpers import new_task, new_text_message
from a2a.server.agent_execution import AgentExecutor
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.agent_card_routes import create_agent_card_routes
from a2a.server.routes.jsonrpc_routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
    TaskState,
)
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse

TURNS = Counter()


class Vendor(AgentExecutor):
    async def execute(self, context, event_queue):
        text = context.get_user_input()
        task = context.current_task
        if task is None:
            task = new_task(
                context.task_id,
                context.context_id,
                TaskState.TASK_STATE_SUBMITTED,
                history=[context.message],
            )
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        TURNS[task.context_id] += 1
        if task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            await updater.add_artifact([Part(text=f"thanks, you said: {text}")])
            await updater.complete()
            return
        if text.startswith("ASK:"):
            question = text[len("ASK:") :].strip()
            await updater.requires_input(
                new_text_message(question, context_id=task.context_id, task_id=task.id)
            )
            return
        slow = "SLOW" in text
        note = "looking into it" if slow else None
        await updater.start_work(
            new_text_message(note, context_id=task.context_id, task_id=task.id) if slow else None
        )
        if slow:
            await asyncio.sleep(1)
        if "STALL" in text:
            print("stalling", flush=True)
            await asyncio.sleep(600)
        turn = TURNS[task.context_id]
        await updater.add_artifact(
            [Part(text=f"echo: {text} (turn {turn} of context {task.context_id})")]
        )
        await updater.complete()

    async def cancel(self, context, event_queue):
        print("cancelled", flush=True)
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.cancel()


class BearerOnly(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        wanted = os.environ.get("A2A_AGENT_TOKEN")
        if wanted and request.headers.get("authorization") != f"Bearer {wanted}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    card = AgentCard(
        name="vendor",
        description="A vendor's agent that echoes, asks back and stalls on request.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url=f"http://127.0.0.1:{port}/",
                protocol_binding="JSONRPC",
                protocol_version="1.0",
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="Echoes.", tags=["echo"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=Vendor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    app = Starlette(
        routes=create_agent_card_routes(card) + create_jsonrpc_routes(handler, rpc_url="/")
    )
    app.add_middleware(BearerOnly)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    print(f"PORT {port}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    sys.exit(main())
