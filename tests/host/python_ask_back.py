"""The official Python SDK as the asker of a question whose answering agent
asks back (issue 29), over Streamable HTTP with a module's token on protocol
2026-07-28:

- with elicitation: send_message returns an InputRequiredResult; the SDK's
  own driver runs the elicitation callback (which answers) and retries the
  same call, which returns the final reply; once per backend;
- a retry whose requestState was changed is refused (and answers nothing);
- with the tasks extension too: the task shows input_required with the
  question as its input request; tasks/update answers it and the task
  completes with the reply.

Prints what it saw as one JSON object.

Usage: python_ask_back.py <url> <token>
"""

import asyncio
import json
import sys
from typing import Any, Literal

from mcp.client.client import Client
from mcp.client.extension import ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitResult, Request, RequestParams, Result
from pydantic import ConfigDict

TASKS = "io.modelcontextprotocol/tasks"
ASK = "mcp__comms__ask_asker"


def asking(question: str) -> str:
    """The message that makes the stand-in model's agent ask `question` back."""
    return f"[[tool:{ASK} {json.dumps({'question': question})}]]"


class TaskState(Result):
    model_config = ConfigDict(extra="allow")
    task_id: str
    status: str
    status_message: str | None = None
    input_requests: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class TaskIdParams(RequestParams):
    task_id: str


class GetTask(Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    name_param = "taskId"


class UpdateParams(RequestParams):
    task_id: str
    input_responses: dict[str, Any]


class UpdateTask(Request[UpdateParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    name_param = "taskId"


class Ack(Result):
    model_config = ConfigDict(extra="allow")


class TaskHandle(Result):
    """What a task-answered tools/call returns (CreateTaskResult)."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"] = "task"
    task_id: str
    status: str


async def unresolved(handle, ctx):
    raise RuntimeError("this script follows its task itself (allow_claimed=True)")


class Tasks(ClientExtension):
    """Declares the tasks extension; the script follows its task itself."""

    identifier = TASKS

    def claims(self):
        return (ResultClaim(result_type="task", model=TaskHandle, resolve=unresolved),)


answers: dict[str, str] = {}
elicited: list[str] = []


async def elicit(context, params) -> ElicitResult:
    """Answers the agent's question: the answer named in its own words."""
    elicited.append(params.message)
    for question, answer in answers.items():
        if question in params.message:
            return ElicitResult(action="accept", content={"answer": answer})
    return ElicitResult(action="decline")


def client(url: str, token: str, extensions=None) -> Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(
        streamable_http_client(url, http_client=http),
        elicitation_callback=elicit,
        extensions=extensions or [],
    )


async def through_elicitation(url: str, token: str, seen: dict[str, Any]) -> None:
    async with client(url, token) as c:
        seen["protocol_version"] = c.protocol_version
        for backend in ("claude-code-mcp", "claude-stream"):
            created = await c.call_tool("create_conversation", {"target": "arangodb", "backend": backend})
            conversation = created.structured_content["id"]
            # A first turn (a stream process then serves the next question too).
            await c.call_tool("send_message", {"conversation_id": conversation, "message": "hello"})
            question = f"Pages or blocks, on {backend}?"
            answers[question] = f"blocks, in page_blocks ({backend})"
            done = await c.call_tool("send_message", {"conversation_id": conversation, "message": asking(question)})
            seen[backend] = {"outcome": done.structured_content, "error": bool(done.is_error)}
    seen["elicited"] = list(elicited)


async def tampered(url: str, token: str, seen: dict[str, Any]) -> None:
    """Drives the rounds by hand: a changed requestState is refused."""
    question = "Which port, before tampering?"
    message = asking(question)
    async with client(url, token) as c:
        first = await c.session.call_tool(
            "send_message", {"target": "arangodb", "message": message}, allow_input_required=True
        )
        (key,) = list(first.input_requests)
        answer = {key: ElicitResult(action="accept", content={"answer": "8529 (after tampering)"})}
        try:
            await c.session.call_tool(
                "send_message",
                {"target": "arangodb", "message": message},
                input_responses=answer,
                request_state=first.request_state + "-TAMPERED",
                allow_input_required=True,
            )
            seen["tampered"] = {"refused": False}
        except MCPError as e:
            seen["tampered"] = {"refused": True, "code": e.code, "message": e.error.message}
        # The true state still works: nothing was answered meanwhile.
        done = await c.session.call_tool(
            "send_message",
            {"target": "arangodb", "message": message},
            input_responses=answer,
            request_state=first.request_state,
            allow_input_required=True,
        )
        seen["tampered"]["then"] = done.structured_content


async def through_a_task(url: str, token: str, seen: dict[str, Any]) -> None:
    question = "Which index, for the task?"
    async with client(url, token, [Tasks()]) as c:
        handle = await c.session.call_tool(
            "send_message", {"target": "arangodb", "message": asking(question)}, allow_claimed=True
        )
        task_id = handle.task_id
        statuses = []
        state = None
        for _ in range(600):
            state = await c.session.send_request(GetTask(params=TaskIdParams(task_id=task_id)), TaskState)
            statuses.append(state.status)
            if state.status != "working":
                break
            await asyncio.sleep(0.1)
        seen["task_waiting"] = state.model_dump(by_alias=True, exclude_none=True)
        (key,) = list(state.input_requests or {"none": None})
        answer = "the hash index (tasks/update)"
        await c.session.send_request(
            UpdateTask(
                params=UpdateParams(
                    task_id=task_id,
                    input_responses={key: {"action": "accept", "content": {"answer": answer}}},
                )
            ),
            Ack,
        )
        for _ in range(600):
            state = await c.session.send_request(GetTask(params=TaskIdParams(task_id=task_id)), TaskState)
            statuses.append(state.status)
            if state.status in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.1)
        seen["task_statuses"] = sorted(set(statuses))
        seen["task_done"] = state.model_dump(by_alias=True, exclude_none=True)
        seen["task_answer"] = answer


async def main(url: str, token: str) -> None:
    seen: dict[str, Any] = {}
    await through_elicitation(url, token, seen)
    await tampered(url, token, seen)
    await through_a_task(url, token, seen)
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
