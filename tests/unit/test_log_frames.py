"""A container's attached output: frames taken apart whatever pieces the socket gives."""

from __future__ import annotations

import socket
import threading
import time

from workers.docker_logs import AttachedOutput, FrameReader, LogPump


def frame(payload: bytes, stream: int = 1) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


STREAM = frame(b"first line\n") + frame(b"an error\n", 2) + frame(b"") + frame(b"last, unended")


def test_frames_give_their_payloads_in_order_stdout_and_stderr_alike():
    assert FrameReader().payload(STREAM) == b"first line\nan error\nlast, unended"


def test_every_cut_of_the_stream_gives_the_same_bytes():
    # Headers and payloads split anywhere, one byte at a time included.
    for size in (1, 2, 3, 7, 8, 9, 13, len(STREAM)):
        reader = FrameReader()
        pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
        assert b"".join(reader.payload(piece) for piece in pieces) == FrameReader().payload(
            STREAM
        ), size


def test_a_huge_frame_is_passed_on_as_it_arrives_never_held_whole():
    reader = FrameReader()
    header = frame(b"x" * 10_000_000)[:8]
    assert reader.payload(header + b"x" * 100) == b"x" * 100
    assert reader.payload(b"x" * 50) == b"x" * 50


def test_the_pump_reads_a_real_socket_and_closing_wakes_a_blocked_reader():
    ours, engine = socket.socketpair()
    pump = LogPump(AttachedOutput(ours))
    pump.start()
    engine.sendall(frame(b"one\ntwo\n") + frame(b"three\n", 2))
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:
        pump.deliver(seen.append, 0.1)
    assert seen == ["one", "two", "three"]
    # Nothing more comes and the engine keeps the socket open: closing must still end it.
    closer = threading.Timer(0.2, pump.close)
    closer.start()
    deadline = time.monotonic() + 5
    while not pump.finished and time.monotonic() < deadline:
        pump.deliver(seen.append, 0.1)
    assert pump.finished and seen == ["one", "two", "three"]
    engine.close()


def test_the_pump_delivers_every_line_of_a_flood_in_order():
    ours, engine = socket.socketpair()
    pump = LogPump(AttachedOutput(ours))
    pump.start()
    lines = [f"L {n}" for n in range(50_000)]

    def send() -> None:
        for start in range(0, len(lines), 100):
            engine.sendall(
                frame("".join(f"{line}\n" for line in lines[start : start + 100]).encode())
            )
        engine.close()

    sender = threading.Thread(target=send)
    sender.start()
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while not pump.finished and time.monotonic() < deadline:
        pump.deliver(seen.append, 0.1)
    sender.join()
    pump.close()
    assert seen == lines
