"""uvicorn's h11 protocol with a cap on the request head that answers 431, as JSON, when it is exceeded.

h11 stops reading once the unparsed head passes `h11_max_incomplete_event_size` (REGKB_API__MAX_HEADER_BYTES),
so an oversized header costs the server one buffer, not seconds of parsing that stall every client;
uvicorn would answer that case with a plain-text 400, which names neither the problem nor the fix.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["BoundedH11Protocol"]


class BoundedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._status_hint = 400
        parse = self.conn.next_event

        def next_event() -> Any:
            try:
                return parse()
            except h11.RemoteProtocolError as exc:
                self._status_hint = exc.error_status_hint
                raise

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def send_400_response(self, msg: str) -> None:
        if self._status_hint != 431:
            super().send_400_response(msg)
            return
        limit = self.config.h11_max_incomplete_event_size
        body = json.dumps(
            {
                "error": {
                    "type": "invalid_request",
                    "message": f"the request headers exceed {limit} bytes; send smaller headers "
                    "(the limit is REGKB_API__MAX_HEADER_BYTES)",
                    "request_id": uuid.uuid4().hex,
                }
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        for event in (
            h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()
