//! Page arithmetic shared by the list and statement operations.

/// Contract defaults and limits for `page` and `pageSize`.
pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 1000;
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// A validated page request: `page` from 1, `size` in 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    Page,
    PageSize,
}

impl PageRequest {
    pub fn new(page: Option<i64>, size: Option<i64>) -> Result<Self, PageError> {
        let page = page.unwrap_or(1);
        let size = size.unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
        if !(1..=i64::from(MAX_PAGE)).contains(&page) {
            return Err(PageError::Page);
        }
        if !(1..=i64::from(MAX_PAGE_SIZE)).contains(&size) {
            return Err(PageError::PageSize);
        }
        Ok(Self {
            page: page as u32,
            size: size as u32,
        })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn size(self) -> u32 {
        self.size
    }

    /// Rows to skip; i64 because page × size overflows u32.
    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.size)
    }

    /// Pages of a list of `total` records. An empty list still has its one
    /// (empty) page, so page 1 is always valid.
    pub fn total_pages(self, total: i64) -> i64 {
        ((total + i64::from(self.size) - 1) / i64::from(self.size)).max(1)
    }

    /// Whether this page lies past the last page of a list of `total` records.
    pub fn is_past_end(self, total: i64) -> bool {
        i64::from(self.page) > self.total_pages(total)
    }

    /// This page of a whole list (empty past its end).
    pub fn slice<T>(self, list: Vec<T>) -> Vec<T> {
        let skip = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        list.into_iter()
            .skip(skip)
            .take(self.size as usize)
            .collect()
    }

    /// For statements, which are not counted: a page past the first that
    /// came back empty does not exist.
    pub fn is_missing(self, rows_on_page: usize) -> bool {
        self.page > 1 && rows_on_page == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let p = PageRequest::new(None, None).unwrap();
        assert_eq!((p.page(), p.size(), p.offset()), (1, 25, 0));
        assert_eq!(PageRequest::new(Some(0), None), Err(PageError::Page));
        assert_eq!(
            PageRequest::new(Some(i64::from(i32::MAX) + 1), None),
            Err(PageError::Page)
        );
        assert_eq!(PageRequest::new(None, Some(0)), Err(PageError::PageSize));
        assert_eq!(PageRequest::new(None, Some(1001)), Err(PageError::PageSize));
        assert!(PageRequest::new(Some(i64::from(i32::MAX)), Some(1000)).is_ok());
    }

    #[test]
    fn offsets_do_not_overflow() {
        let p = PageRequest::new(Some(i64::from(i32::MAX)), Some(1000)).unwrap();
        assert_eq!(p.offset(), (i64::from(i32::MAX) - 1) * 1000);
    }

    #[test]
    fn page_counts() {
        let p = PageRequest::new(Some(1), Some(10)).unwrap();
        assert_eq!(p.total_pages(0), 1);
        assert_eq!(p.total_pages(10), 1);
        assert_eq!(p.total_pages(11), 2);
        assert!(!p.is_past_end(0));
        let p3 = PageRequest::new(Some(3), Some(10)).unwrap();
        assert!(!p3.is_past_end(21));
        assert!(p3.is_past_end(20));
    }

    #[test]
    fn slices_of_a_whole_list() {
        let list: Vec<u32> = (1..=25).collect();
        let page = |n, size| PageRequest::new(Some(n), Some(size)).unwrap();
        assert_eq!(
            page(1, 10).slice(list.clone()),
            (1..=10).collect::<Vec<_>>()
        );
        assert_eq!(
            page(3, 10).slice(list.clone()),
            (21..=25).collect::<Vec<_>>()
        );
        assert!(page(4, 10).slice(list.clone()).is_empty());
        assert!(page(i64::from(i32::MAX), 1000).slice(list).is_empty());
        assert!(page(1, 25).slice(Vec::<u32>::new()).is_empty());
    }

    #[test]
    fn statement_pages() {
        let first = PageRequest::new(Some(1), Some(10)).unwrap();
        assert!(!first.is_missing(0));
        let second = PageRequest::new(Some(2), Some(10)).unwrap();
        assert!(second.is_missing(0));
        assert!(!second.is_missing(1));
    }
}
