"""Outbound webhooks for a city's own platform (Standard Webhooks): subscriptions, deliveries, replay."""
