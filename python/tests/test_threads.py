"""One Tagger shared by Python threads; the GIL is released while it works;
Ctrl-C stops a long tag_batch."""

import _thread
import gc
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import arabic_ner
from conftest import py_view


def views(docs):
    return [[(py_view(e), round(e.score, 5)) for e in doc] for doc in docs]


def test_threads_share_one_tagger(tagger, anercorp_test):
    texts = anercorp_test[:240]
    serial = views([tagger.tag(t) for t in texts])
    parts = [texts[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        singles = list(pool.map(lambda t: views([tagger.tag(t)])[0], texts))
        batches = list(pool.map(lambda p: views(tagger.tag_batch(p)), parts))
    assert singles == serial
    for i, part in enumerate(batches):
        assert part == serial[i::4]


def test_the_gil_is_released_while_tagging(tagger, anercorp_test):
    texts = anercorp_test[:400]
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.05)
    before = ticks
    t0 = time.perf_counter()
    tagger.tag_batch(texts)
    elapsed = time.perf_counter() - t0
    during = ticks - before
    done.set()
    counter.join()
    # A thread holding the GIL for the whole call would leave the counter
    # still; released, it ticks about once a millisecond.
    assert elapsed > 0.2
    assert during > elapsed * 1000 * 0.2, (during, elapsed)


def test_own_thread_counts_give_the_same_entities(anercorp_test):
    texts = anercorp_test[:150]
    one = arabic_ner.Tagger(threads=1)
    two = arabic_ner.Tagger(threads=2)
    assert (one.threads, two.threads) == (1, 2)
    assert views(one.tag_batch(texts)) == views(two.tag_batch(texts))


def test_ctrl_c_stops_a_long_batch(tagger, anercorp_test):
    texts = anercorp_test * 4  # several chunks of 512 texts
    start = time.perf_counter()
    tagger.tag_batch(texts[:512])
    chunk_time = time.perf_counter() - start
    # Python's own Ctrl-C handler (a Spark session, say, may have put its
    # own), and no garbage-collector callbacks (Hypothesis installs one):
    # Python code run inside a collection would take the KeyboardInterrupt
    # and lose it, before the tagger looks for it between two chunks.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    callbacks = gc.callbacks[:]
    gc.callbacks.clear()
    gc.disable()
    try:
        timer = threading.Timer(chunk_time * 0.5, _thread.interrupt_main)
        timer.start()
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            tagger.tag_batch(texts)
        stopped_after = time.perf_counter() - start
        timer.join()
    finally:
        gc.enable()
        gc.callbacks.extend(callbacks)
        signal.signal(signal.SIGINT, previous)
    # It stopped at the end of the chunk under way, not after all of them.
    assert stopped_after < chunk_time * (len(texts) / 512) * 0.6
    # The tagger is still usable.
    assert tagger.tag("زار ماكرون القاهرة")
