"""Sans-IO codecs: bytes in, messages/readings out.

Every codec here is pure: no reads, writes, sleeps, clocks or logging configuration. Decoders
are stateful objects with ``feed(data) -> list[event]`` that buffer partial input, so the result
does not depend on how the transport happened to chunk the bytes; encoders are pure functions.
Timers are data: a codec that needs one exposes ``deadline`` and takes ``now`` from the caller.
"""
