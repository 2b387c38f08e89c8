"""The official Python SDK as a remote host: it reaches the daemon's TCP face
over Streamable HTTP with a module's token, speaks protocol 2026-07-28, and
uses MCP tasks (SEP-2663) for send_message: one task polled with tasks/get
to its answer, one cancelled with tasks/cancel. Prints what it saw as one
JSON object.

Usage: python_http_client.py <url> <token>
"""

import asyncio
import json
import sys
from typing import Any, Literal

from mcp.client.client import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict, Field

TASKS = "io.modelcontextprotocol/tasks"


class TaskHandle(Result):
    """What a task-answered tools/call returns (CreateTaskResult)."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"] = "task"
    task_id: str
    status: str


class TaskState(Result):
    """What tasks/get returns: the task, and once completed its result."""

    model_config = ConfigDict(extra="allow")
    task_id: str
    status: str
    status_message: str | None = None
    result: dict[str, Any] | None = None


class TaskIdParams(RequestParams):
    task_id: str


class GetTask(Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    name_param = "taskId"


class CancelTask(Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    name_param = "taskId"


class Ack(Result):
    model_config = ConfigDict(extra="allow")


polls: list[str] = []


async def get_task(session, task_id: str) -> TaskState:
    return await session.send_request(GetTask(params=TaskIdParams(task_id=task_id)), TaskState)


async def follow(handle: TaskHandle, ctx: ClaimContext) -> CallToolResult:
    """Polls tasks/get until the task ends; its result is the tool's result."""
    for _ in range(600):
        state = await get_task(ctx.session, handle.task_id)
        polls.append(state.status)
        if state.status == "completed":
            return CallToolResult.model_validate(state.result)
        if state.status in ("failed", "cancelled"):
            raise RuntimeError(f"task {handle.task_id} ended {state.status}")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"task {handle.task_id} did not end")


class Tasks(ClientExtension):
    identifier = TASKS

    def claims(self):
        return (ResultClaim(result_type="task", model=TaskHandle, resolve=follow),)


async def main(url: str, token: str) -> None:
    seen: dict[str, Any] = {}
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http), extensions=[Tasks()]) as client:
        seen["protocol_version"] = client.protocol_version
        tools = await client.list_tools()
        seen["tools"] = sorted(tool.name for tool in tools.tools)

        # A task, followed to its answer by the extension's resolver.
        answered = await client.call_tool(
            "send_message", {"target": "arangodb", "message": "Python over HTTP asks: where do blocks go?"}
        )
        seen["task_polls"] = polls
        seen["send"] = answered.structured_content
        seen["send_error"] = bool(answered.is_error)

        # A task that is cancelled before the model answers it.
        handle = await client.session.call_tool(
            "send_message",
            {"target": "arangodb", "message": "[[stall:120000]] never mind this one"},
            allow_claimed=True,
        )
        seen["second_is_task"] = isinstance(handle, TaskHandle)
        await client.session.send_request(CancelTask(params=TaskIdParams(task_id=handle.task_id)), Ack)
        state = await get_task(client.session, handle.task_id)
        seen["cancelled_status"] = state.status
        seen["cancelled_id"] = handle.task_id
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
