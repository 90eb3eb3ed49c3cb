"""``kubectl completion``: a notebook has no shell to complete in, so only kubectl's argument
errors are reproduced; naming a real shell says kubelab leaves the script out."""
from __future__ import annotations

from kubelab.kubectl.command import Context, command, error

SHELLS = ("bash", "zsh", "fish", "powershell")


@command("completion", short="Output shell completion code for the specified shell (bash, zsh, fish, or powershell)")
def completion(ctx: Context, args: list[str]) -> int:
    if not args:
        raise ctx.usage_error("Shell not specified.")
    if len(args) > 1:
        raise ctx.usage_error("Too many arguments. Expected only the shell type.")
    if args[0] not in SHELLS:
        raise ctx.usage_error(f'Unsupported shell type "{args[0]}".')
    raise error('kubelab does not implement "kubectl completion"')
