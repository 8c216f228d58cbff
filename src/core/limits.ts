// Bounds every layer applies the same way.

/** Children of one composition block, and adapters of one fusion. */
export const MAX_WIDTH = 16;

/** Labels of one prediction head: a classification or tagging head, not a vocabulary. */
export const MAX_LABELS = 32_768;
