"""Interoperability records: raw inbound messages, the unmatched-results inbox and
registered systems."""
