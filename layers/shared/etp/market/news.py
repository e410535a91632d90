"""News items (PynamoDB): one partition `feed = "news"`, sorted by `<UTC time>#<id>`, so the latest
ten are one Query newest first. Imported on first use."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute

from etp.clock import from_utc_iso, to_utc_iso
from etp.dynamo import TableModel, table_meta

FEED = "news"
MAX_CONTENT = 2000


@dataclass(frozen=True)
class NewsItem:
    id: str
    published_at: datetime  # UTC
    content: str


class NewsModel(TableModel):
    Meta = table_meta("news_table")

    feed = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    content = UnicodeAttribute()
    published_at = UnicodeAttribute()


class DynamoNews:
    def publish(self, content: str, now: datetime) -> NewsItem:
        if not content.strip() or len(content) > MAX_CONTENT:
            raise ValueError(f"news content has 1 to {MAX_CONTENT} characters")
        item = NewsItem(id=str(uuid.uuid4()), published_at=now, content=content)
        NewsModel(
            feed=FEED, sk=f"{to_utc_iso(now)}#{item.id}", id=item.id, content=content, published_at=to_utc_iso(now)
        ).save()
        return item

    def latest(self, count: int = 10) -> list[NewsItem]:
        return [
            NewsItem(id=i.id, published_at=from_utc_iso(i.published_at), content=i.content)
            for i in NewsModel.query(FEED, scan_index_forward=False, limit=count)
        ]
