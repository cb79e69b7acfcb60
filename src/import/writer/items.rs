//! The producer's items, as the writer takes them.

use crate::import::validate::{Definition, Item};
use std::mem;
use tokio::sync::mpsc::Receiver;

/// The producer's items, one at a time. Chunks go back to the producer once
/// read, with the items the writer gave back in them: the producer frees
/// what it allocated and reuses the buffers (freeing on another thread than
/// the allocating one costs the allocator dearly).
pub(super) struct Items {
    rx: Receiver<Vec<(u64, Item)>>,
    current: Vec<(u64, Item)>,
    /// Index of the next item of `current`.
    pos: usize,
    recycle: std::sync::mpsc::Sender<Vec<(u64, Item)>>,
}

/// What a taken item leaves in its slot (allocates nothing).
fn taken() -> Item {
    Item::Defines(Definition::Brand(String::new()))
}

impl Items {
    pub(super) fn new(
        rx: Receiver<Vec<(u64, Item)>>,
        recycle: std::sync::mpsc::Sender<Vec<(u64, Item)>>,
    ) -> Self {
        Items {
            rx,
            current: Vec::new(),
            pos: 0,
            recycle,
        }
    }

    pub(super) async fn next(&mut self) -> Option<(u64, Item)> {
        loop {
            if let Some((line, item)) = self.current.get_mut(self.pos) {
                self.pos += 1;
                return Some((*line, mem::replace(item, taken())));
            }
            let chunk = self.rx.recv().await?;
            let used = mem::replace(&mut self.current, chunk);
            self.pos = 0;
            if used.capacity() > 0 {
                let _ = self.recycle.send(used);
            }
        }
    }

    /// Puts the last item taken back, for the producer to drop.
    pub(super) fn give_back(&mut self, item: Item) {
        if let Some(slot) = self
            .pos
            .checked_sub(1)
            .and_then(|i| self.current.get_mut(i))
        {
            slot.1 = item;
        }
    }
}
