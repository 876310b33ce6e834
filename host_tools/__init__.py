"""needlepen host tools: the `needlepen` command (sim, deploy, console, log)."""
