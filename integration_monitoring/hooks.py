def post_init_hook(env):
    """Give the metrics endpoint its own bearer token at install."""
    env["integration.monitor"]._ensure_token()
