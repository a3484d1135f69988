import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


async def test_database_answers(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("select 1"))).scalar() == 1
    await engine.dispose()
