"""The official Python A2A SDK (a2a-sdk 1.3) as a client of the daemon's A2A
face: it resolves a module's Agent Card from the agent's base URL, sends a
message and a follow-up in the same contextId, streams one, answers a task
whose agent asks back (input-required), gets and cancels a slow task, and
is refused with a bad token; then the same through the SDK's A2A 0.3
transport. Prints what it saw as one JSON object.

Usage: a2a_client.py <agent base URL> <token> <message that makes the agent ask back>
"""

import asyncio
import json
import sys
import uuid

import httpx
from a2a.client import AgentCardResolutionError, ClientConfig, ClientFactory, create_client
from a2a.types import (
    AgentCard,
    AgentInterface,
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskState,
)
from google.protobuf.json_format import MessageToDict


def message(text, context_id=None, task_id=None):
    return SendMessageRequest(
        message=Message(
            message_id=str(uuid.uuid4()),
            role=Role.ROLE_USER,
            parts=[Part(text=text)],
            context_id=context_id or "",
            task_id=task_id or "",
        )
    )


def state(task):
    return TaskState.Name(task.status.state)


def text_of(parts):
    return "".join(p.text for p in parts)


async def one_task(client, request):
    """The task a non-streaming send returns."""
    async for event in client.send_message(request):
        assert event.HasField("task"), MessageToDict(event)
        return event.task
    raise AssertionError("no answer")


async def main(url, token, asking):
    seen = {}
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(headers=headers, timeout=timeout) as http:
        client = await create_client(url, ClientConfig(httpx_client=http, streaming=False))
        card = client._card
        seen["card"] = {
            "name": card.name,
            "streaming": card.capabilities.streaming,
            "interfaces": [
                [i.url, i.protocol_binding, i.protocol_version] for i in card.supported_interfaces
            ],
            "skills": [s.id for s in card.skills],
            "schemes": list(card.security_schemes.keys()),
        }

        first = await one_task(client, message("Where are page blocks stored?"))
        seen["first"] = {
            "state": state(first),
            "context_id": first.context_id,
            "task_id": first.id,
            "answer": text_of(first.artifacts[0].parts) if first.artifacts else None,
        }
        follow = await one_task(client, message("And their sections?", context_id=first.context_id))
        seen["follow_up"] = {
            "state": state(follow),
            "context_id": follow.context_id,
            "task_id": follow.id,
        }

        asked = await one_task(client, message(asking))
        seen["asked"] = {
            "state": state(asked),
            "question": text_of(asked.status.message.parts),
        }
        answered = await one_task(
            client, message("8529, over TLS", context_id=asked.context_id, task_id=asked.id)
        )
        seen["answered"] = {
            "state": state(answered),
            "task_id": answered.id,
            "answer": text_of(answered.artifacts[0].parts) if answered.artifacts else None,
        }

        streaming = await create_client(url, ClientConfig(httpx_client=http, streaming=True))
        events = []
        async for event in streaming.send_message(message("[[stall:6000]] Stream me the answer")):
            kind = event.WhichOneof("payload")
            if kind == "task":
                events.append(["task", state(event.task)])
            elif kind == "status_update":
                status = event.status_update.status
                events.append(
                    ["status", TaskState.Name(status.state), text_of(status.message.parts)]
                )
            elif kind == "artifact_update":
                events.append(["artifact", text_of(event.artifact_update.artifact.parts)])
        seen["stream"] = events

        polling = await create_client(
            url, ClientConfig(httpx_client=http, streaming=False, polling=True)
        )
        slow = await one_task(polling, message("[[stall:60000]] take your time"))
        got = await client.get_task(GetTaskRequest(id=slow.id))
        cancelled = await client.cancel_task(CancelTaskRequest(id=slow.id))
        again = await client.get_task(GetTaskRequest(id=slow.id))
        seen["cancel"] = {
            "returned": state(slow),
            "got": state(got),
            "cancelled": state(cancelled),
            "after": state(again),
        }
        try:
            await client.get_task(GetTaskRequest(id="no-such-task"))
            seen["unknown_task"] = "answered"
        except Exception as e:  # noqa: BLE001 - the SDK's typed error is what we report
            seen["unknown_task"] = type(e).__name__

        # The same agent through the SDK's A2A 0.3 transport (message/send,
        # message/stream in 0.3's JSON), chosen by a card that offers 0.3 only.
        legacy_card = AgentCard()
        legacy_card.CopyFrom(card)
        del legacy_card.supported_interfaces[:]
        legacy_card.supported_interfaces.append(
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="0.3")
        )
        legacy = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(
            legacy_card
        )
        old = await one_task(legacy, message("Old words?"))
        legacy_stream = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(
            legacy_card
        )
        old_events = []
        async for event in legacy_stream.send_message(message("Old stream?")):
            old_events.append(event.WhichOneof("payload"))
        got_old = await legacy.get_task(GetTaskRequest(id=old.id))
        seen["v03"] = {
            "transport": type(legacy._transport).__name__,
            "state": state(old),
            "answer": text_of(old.artifacts[0].parts) if old.artifacts else None,
            "stream": old_events,
            "got": state(got_old),
        }

    bad = {"Authorization": "Bearer cct_nope_0000"}
    async with httpx.AsyncClient(headers=bad, timeout=timeout) as http:
        try:
            await create_client(url, ClientConfig(httpx_client=http))
            seen["bad_token"] = "accepted"
        except AgentCardResolutionError as e:
            seen["bad_token"] = e.status_code
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
