"""The waiting line's bucketed layout (``queueing.redis_queue``) against a plain Python model.

Positions, sizes and the admission order must be those of one sorted set, whatever the mix of joins,
leaves, pops and moves, across many buckets and as the Fenwick tree grows.
"""

import random

from queueing.redis_queue import (
    ADMIT_POPPED,
    BUCKET,
    READY,
    QueueKeys,
    line_version,
    queue_redis,
    run_admit,
    run_line_remove,
    run_line_set,
    run_status_reads,
    waiting_count,
    waiting_places,
    waiting_sequence,
)

EVENT_ID = 424242
_COMPACT = (b"listpack", b"ziplist")


def _ready(keys: QueueKeys) -> None:
    queue_redis().hset(keys.meta, mapping={READY: "0", "opened": "1"})


def _assert_matches(keys: QueueKeys, model: dict[int, int]) -> None:
    ordered = sorted(model.items(), key=lambda place: place[1])
    assert waiting_places(keys) == ordered
    assert waiting_count(keys) == len(model)
    for rank, (user_id, sequence) in enumerate(ordered):
        reads = run_status_reads(keys, user_id=user_id)
        assert (int(reads[2]), reads[3], reads[4]) == (sequence, rank, len(model)), user_id


def test_positions_sizes_and_admission_order_match_one_sorted_set_through_a_random_mix():
    keys = QueueKeys(EVENT_ID)
    _ready(keys)
    chance = random.Random(13)
    model: dict[int, int] = {}
    sequence = 0
    user_ids = chance.sample(range(1, 2_000_000), 4000)  # spread over thousands of user buckets
    for user_id in user_ids[:3000]:
        sequence += chance.randint(1, 3)  # sequences skip, as leaves and other events' joins leave holes
        model[user_id] = sequence
    run_line_set(keys, model)
    _assert_matches(keys, model)

    for user_id in chance.sample(sorted(model), 600):  # leaves, emptying whole buckets here and there
        run_line_remove(keys, user_id)
        del model[user_id]
    run_line_remove(keys, user_ids[-1])  # not in line: nothing changes
    _assert_matches(keys, model)

    for tick in range(6):  # admissions pop across bucket boundaries and over emptied buckets
        reply = run_admit(keys, size=37, token=f"tick-{tick}", token_seconds=60)
        assert reply[0] == ADMIT_POPPED
        popped = [(int(reply[1][i]), int(float(reply[1][i + 1]))) for i in range(0, len(reply[1]), 2)]
        expected = sorted(model.items(), key=lambda place: place[1])[:37]
        assert popped == expected
        for user_id, _ in popped:
            del model[user_id]
    _assert_matches(keys, model)

    for user_id in user_ids[3000:]:  # later joins grow the tree several times over
        sequence += chance.randint(1, BUCKET)
        model[user_id] = sequence
    run_line_set(keys, {user_id: model[user_id] for user_id in user_ids[3000:]})
    moved = chance.choice(sorted(model))
    sequence += 1
    model[moved] = sequence
    run_line_set(keys, {moved: sequence})  # a place corrected to a later sequence moves, not doubles
    _assert_matches(keys, model)
    assert waiting_sequence(keys, moved) == sequence
    assert waiting_sequence(keys, user_ids[0] if user_ids[0] not in model else -1) is None


def test_popping_more_than_wait_empties_the_line_and_a_new_join_starts_again():
    keys = QueueKeys(EVENT_ID)
    _ready(keys)
    run_line_set(keys, {7: 1, 8: 300, 9: 5000})

    reply = run_admit(keys, size=50, token="all", token_seconds=60)

    assert [int(member) for member in reply[1][::2]] == [7, 8, 9]
    assert waiting_count(keys) == 0
    assert waiting_places(keys) == []
    run_line_set(keys, {10: 5001})
    assert run_status_reads(keys, user_id=10)[3:5] == [0, 1]


def test_a_full_bucket_stays_in_redis_compact_encoding():
    # The memory per fan rests on it: a bucket of 128 fans is a listpack (a ziplist before Redis 7),
    # not a skiplist or hash table.
    keys = QueueKeys(EVENT_ID)
    run_line_set(keys, {user_id: user_id for user_id in range(BUCKET, 2 * BUCKET)})
    version = line_version(keys)
    client = queue_redis()

    assert client.zcard(keys.line_bucket(version, 1)) == BUCKET
    assert client.object("encoding", keys.line_bucket(version, 1)) in _COMPACT
    assert client.hlen(keys.line_users(version, 1)) == BUCKET
    assert client.object("encoding", keys.line_users(version, 1)) in _COMPACT
