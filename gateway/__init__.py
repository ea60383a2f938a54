"""IAFactory plugin for the LiteLLM proxy.

It checks customer keys with the portal before a call (`gateway.auth`), reports each served call
as a usage event (`gateway.usage_logger`), never loses an event while the portal is away
(`gateway.spool`), and writes the proxy's model list from the portal's catalog
(`python -m gateway.config`). It talks to the portal only over its HTTP gateway API.
"""
