"""A second, independent MCP client: the official Python SDK drives
`claude-comms serve` over stdio and prints what it saw as one JSON object.

Usage: python_client.py <claude-comms binary> <CLAUDE_COMMS_HOME>
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text_of(result):
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def main(binary: str, home: str) -> None:
    env = dict(os.environ)
    env["CLAUDE_COMMS_HOME"] = home
    env["RUST_LOG"] = "warn"
    params = StdioServerParameters(command=binary, args=["serve", "--module", "marker"], env=env)
    seen = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            seen["server_name"] = init.server_info.name
            seen["protocol_version"] = init.protocol_version
            seen["instructions"] = init.instructions or ""
            tools = await session.list_tools()
            seen["tools"] = sorted(tool.name for tool in tools.tools)
            modules = await session.call_tool("list_modules", {})
            seen["list_modules_error"] = bool(modules.is_error)
            seen["modules"] = sorted(m["name"] for m in modules.structured_content["modules"])
            sent = await session.call_tool(
                "send_message", {"target": "arangodb", "message": "Python asks: where do blocks go?"}
            )
            seen["send_error"] = bool(sent.is_error)
            seen["send_text"] = text_of(sent)
            seen["send"] = sent.structured_content
            bad = await session.call_tool("send_message", {"target": "nosuch", "message": "hi"})
            seen["bad_error"] = bool(bad.is_error)
            seen["bad_text"] = text_of(bad)
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
