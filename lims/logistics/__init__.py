"""Logistics: where every specimen is — shipments and their receipt, storage, retrieval and disposal."""
