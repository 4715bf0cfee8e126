"""The fault suite (``make faults``): real processes under load, real faults, every message counted.

Scenarios (:mod:`bench.faults.scenarios`), each against a fresh mosquitto (persistence on), a
gateway process and a community of door sensors sending heartbeats, harmless openings and
breaches: no fault; the gateway SIGKILLed twice; mosquitto restarted; the database locked by
another process for 30 s; a webhook answering 500 and another hanging; 1 % garbage; the data
dir's disk full. Each row counts events published vs stored, duplicates, garbage vs rejected,
alerts expected vs delivered per channel, alert copies delivered twice, and the gateway's peak
RSS; any loss, duplicate or crash fails the run.
"""
