//! "Did you mean": the nearest valid word to a misspelt one.

/// The candidate closest to `word` by edit distance (ignoring ASCII case), if it is close
/// enough to be a plausible typo: at most a third of the longer word's length (at least one
/// edit), or `word` is a prefix of at least three letters.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&word, &candidate.to_ascii_lowercase());
            (distance, *candidate)
        })
        .filter(|(distance, candidate)| {
            let longest = word.chars().count().max(candidate.chars().count());
            *distance <= (longest / 3).max(1)
                || (word.chars().count() >= 3 && candidate.starts_with(word.as_str()))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_nonsense_finds_none() {
        let verbs = ["promote", "approve", "unapprove", "rollback", "status"];
        assert_eq!(nearest("promot", &verbs), Some("promote"));
        assert_eq!(nearest("aprove", &verbs), Some("approve"));
        assert_eq!(nearest("Rolback", &verbs), Some("rollback"));
        assert_eq!(nearest("stat", &verbs), Some("status"));
        assert_eq!(nearest("deploy", &verbs), None);
        assert_eq!(nearest("x", &verbs), None);
        assert_eq!(nearest("", &verbs), None);
    }
}
