"""Attacks from the security review (issues 16 and 17), each performed as an attacker would and expected to fail.

Every file is named after its attack; every test reads as one thing an attacker tries."""
