"""etp-admin news: the news feed."""

import argparse
import json

from etp.clock import utcnow
from etp.market.news import DynamoNews
from etp_admin.cli.common import Command, CommandError, Group, arg
from etp_admin.stack import Stack


def publish(stack: Stack, args: argparse.Namespace) -> None:
    try:
        item = DynamoNews().publish(args.content, utcnow())
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(json.dumps({"id": item.id, "published_at": item.published_at.isoformat()}))


GROUP = Group("news", "the news feed", (Command("publish", publish, "publish a news item", (arg("content"),)),))
