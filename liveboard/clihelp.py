"""Click commands whose built-in help speaks the users' language: `-h` as well as `--help`, and the
help option described in Chinese (click's own text is English). Every liveboard group uses these
classes, so a command added later inherits them."""
from __future__ import annotations

import click

HELP_OPTION_NAMES = ["-h", "--help"]
CONTEXT_SETTINGS = {"help_option_names": HELP_OPTION_NAMES}


class ZhCommand(click.Command):
    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示本帮助并退出"
        return option


class ZhGroup(click.Group):
    command_class = ZhCommand
    group_class = type  # subgroups are of the same class as their parent

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示本帮助并退出"
        return option
