"""Extension objects, bound to an application by ``init_app`` in :func:`idp.create_app`."""

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Objects keep what they hold after a commit instead of being read again on next use: a
# request commits, then reads what it just wrote (a login step redirects to the flow it
# saved, the code page shows the code it sent) and ends with its session. A value that
# must be the database's latest after a commit is read again explicitly
# (``db.session.refresh``, an UPDATE … RETURNING, a conditional UPDATE's row count).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
