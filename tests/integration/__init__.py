"""Tests of several parts together against moto (in-process, or a moto server on 127.0.0.1)."""
