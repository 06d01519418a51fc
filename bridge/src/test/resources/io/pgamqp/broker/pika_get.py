"""Takes one message from a queue with pika (Python's AMQP 0-9-1 client) and prints, as JSON, what pika decoded:
the body in hex, the basic properties, and every header value with the Python type pika gave it. Used by
PikaConsumerEndToEndTest so that pgamqp's field-table encoding is read by a decoder that is not amqp-client's.

Each header value comes with the AMQP type code pika's decoder found ("kind") and, for 'l' (signed 64-bit) and 'd'
(double), the value its 8 bytes hold ("exact"): pika 1.2 (Debian 12) reads 'l' as unsigned and truncates 'd' to an
integer, so its own values could not show a negative long or a fraction.

usage: pika_get.py host port vhost user password queue timeout_seconds
"""
import json
import struct
import sys
import time

import pika
import pika.data

_decode_value = pika.data.decode_value


class Field:
    """One header value as pika's decoder read it: its AMQP type code, pika's value, and for 'l' and 'd' the value
    its 8 bytes hold (pika 1.2 reads 'l' as unsigned and truncates 'd' to an integer: see its data.py)."""

    def __init__(self, kind, exact, value):
        self.kind, self.exact, self.value = kind, exact, value


def recording_decode_value(encoded, offset):
    """pika's decode_value, with the type code and exact value of the field it decoded kept beside pika's value."""
    kind = encoded[offset:offset + 1].decode("latin-1")
    exact = None
    if kind == "l":
        exact = struct.unpack_from(">q", encoded, offset + 1)[0]
    elif kind == "d":
        exact = struct.unpack_from(">d", encoded, offset + 1)[0]
    value, end = _decode_value(encoded, offset)
    return Field(kind, exact, value), end


def tagged(field):
    """A Field as {"kind", "exact", "type" (pika's Python type), "value"}, nested values likewise."""
    value = field.value
    if isinstance(value, dict):
        value = {k: tagged(v) for k, v in value.items()}
    elif isinstance(value, list):
        value = [tagged(v) for v in value]
    elif isinstance(value, bytes):
        value = value.hex()
    return {"kind": field.kind, "exact": field.exact, "type": type(field.value).__name__, "value": value}


def main():
    host, port, vhost, user, password, queue, timeout = sys.argv[1:8]
    params = pika.ConnectionParameters(host=host, port=int(port), virtual_host=vhost,
                                       credentials=pika.PlainCredentials(user, password))
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        # Only for the message: the connection's own tables (server properties) must stay plain for pika.
        pika.data.decode_value = recording_decode_value  # decode_table and arrays look it up here: nested ones too
        deadline = time.monotonic() + float(timeout)
        while True:
            method, props, body = channel.basic_get(queue=queue, auto_ack=True)
            if method is not None:
                break
            if time.monotonic() > deadline:
                print(json.dumps({"error": "no message in " + queue}))
                return 1
            time.sleep(0.1)
        print(json.dumps({
            "body_hex": body.hex(),
            "content_type": props.content_type,
            "content_encoding": props.content_encoding,
            "delivery_mode": props.delivery_mode,
            "priority": props.priority,
            "correlation_id": props.correlation_id,
            "reply_to": props.reply_to,
            "expiration": props.expiration,
            "message_id": props.message_id,
            "timestamp": props.timestamp,
            "type": props.type,
            "app_id": props.app_id,
            "headers": {k: tagged(v) for k, v in (props.headers or {}).items()},
        }))
        return 0
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
