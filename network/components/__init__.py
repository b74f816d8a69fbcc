"""Pulumi components: one ComponentResource per network concept.

These modules import pulumi; everything they need is computed beforehand by
the pure `network.plan`. No resource is ever declared inside an `apply()`.
"""
