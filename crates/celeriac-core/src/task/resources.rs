//! Shared services a worker hands to its tasks, looked up by type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Services tasks need besides their arguments — a blob store, a database
/// pool, an HTTP client — registered once on the worker and read by type
/// with [`TaskContext::resource`](super::TaskContext::resource).
///
/// ```
/// use std::sync::Arc;
/// use celeriac_core::memory::MemoryBlobStore;
/// use celeriac_core::{BlobStore, Resources};
///
/// let blobs: Arc<dyn BlobStore> = Arc::new(MemoryBlobStore::new());
/// let resources = Resources::new().with(blobs);
/// assert!(resources.get::<Arc<dyn BlobStore>>().is_some());
/// ```
#[derive(Clone, Default)]
pub struct Resources {
    by_type: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources").field("count", &self.by_type.len()).finish()
    }
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Resources::default()
    }

    /// Adds `value`, replacing any earlier value of the same type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.by_type.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// [`Resources::insert`], by value.
    #[must_use]
    pub fn with<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.insert(value);
        self
    }

    /// Adds every resource of `other` (its values win).
    pub fn merge(&mut self, other: &Resources) -> &mut Self {
        for (id, value) in &other.by_type {
            self.by_type.insert(*id, value.clone());
        }
        self
    }

    /// The value of type `T`, if registered.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<&T> {
        self.by_type.get(&TypeId::of::<T>())?.downcast_ref::<T>()
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.by_type.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_type() {
        let mut r = Resources::new().with(7u32).with(String::from("a"));
        r.insert(8u32);
        assert_eq!(r.get::<u32>(), Some(&8));
        assert_eq!(r.get::<String>().map(String::as_str), Some("a"));
        assert_eq!(r.get::<u64>(), None);
        let mut other = Resources::new().with(9u64);
        other.merge(&r);
        assert_eq!(other.len(), 3);
    }
}
