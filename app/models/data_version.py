"""The data version: a number that changes after every transaction that wrote to the database."""

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

DATA_VERSION_ID = 1


class DataVersion(db.Model):
    """The one row holding the data version, which rendered lists are kept under.

    A rendered list is kept under the version read at the start of its request, so a change
    to any table makes every kept list old at once (app.services.page_cache). The row is
    written only outside the transactions of the changes themselves, after they end, so it
    never holds up a writer; it may be missing (a test emptied the tables): the first change
    puts it back.
    """

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
