"""Tests of one unit (a class, a module, the template) without AWS, not even moto."""
