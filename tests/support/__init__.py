"""Infrastructure for tests and benchmarks that run the real ``frontdesk`` processes.

``twilio_standin`` is a local carrier that speaks Twilio's REST API at benchmark
speed; ``service`` starts ``frontdesk serve`` / ``frontdesk worker`` as
subprocesses on loopback ports with a clean environment.
"""
