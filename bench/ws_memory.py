"""Server RSS per idle queue socket (lead's scratch experiment)."""
import asyncio, os, sys, time, resource
sys.path.insert(0, "/work/main"); os.chdir("/work/main")
from bench.common import setup_django, ensure_users, access_tokens, log
setup_django()
from bench.positions import big_queue
from bench.servers import running_server
from bench import ws_bench
N = int(sys.argv[1]); WARM = 200
ws_bench._raise_file_limit()
event, _ = big_queue(fans=N + WARM + 10)
uids = ensure_users(N + WARM + 10)
tokens = access_tokens(uids[: N + WARM])
extra = dict(ws_bench._SERVER_ENV, WEB_WORKERS="1")
extra.update(dict(kv.split("=", 1) for kv in os.environ.get("XENV", "").split() if kv))

async def connect_all(url, toks, sem):
    import websockets
    async def one(t):
        async with sem:
            c = await websockets.connect(f"{url}?token={t}", open_timeout=120, ping_interval=None, max_queue=4)
            await asyncio.wait_for(c.recv(), 60)
            return c
    return await asyncio.gather(*(one(t) for t in toks))

async def main(server):
    url = f"{server.ws_url}/ws/queue/{event.pk}/"
    sem = asyncio.Semaphore(100)
    warm = await connect_all(url, tokens[:WARM], sem)
    await asyncio.sleep(2)
    base = server.rss_bytes()
    t = time.monotonic()
    socks = await connect_all(url, tokens[WARM:], sem)
    took = time.monotonic() - t
    await asyncio.sleep(3)
    rss = server.rss_bytes()
    print(f"XENV={os.environ.get('XENV','')} N={N} connect {took:.1f}s per-socket {(rss-base)/N/1024:.1f} KiB (rss {rss/2**20:.0f} MiB)")
    await asyncio.gather(*(c.close() for c in socks + warm), return_exceptions=True)

with running_server("uvicorn", workers=1, extra_env=extra) as server:
    asyncio.run(main(server))
