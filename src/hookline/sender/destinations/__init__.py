"""Broker destinations: targets that publish to a message broker instead of receiving an HTTP POST.

A target whose URL is ``redis://``, ``nats://`` or ``amqp(s)://`` has a ``destination`` (a stream, a subject,
an exchange and routing key). ``spec`` says which URLs and destinations are valid and how a URL is shown
(its password masked); ``port`` is the small interface each broker module implements (``redis``, ``nats``,
``amqp``) and the pool of long-lived connections they share; ``publisher`` turns a publish into the same
``Outcome`` an HTTP attempt gives. Only the broker modules import their drivers. docs/destinations.md
says what a new broker module must implement.
"""
