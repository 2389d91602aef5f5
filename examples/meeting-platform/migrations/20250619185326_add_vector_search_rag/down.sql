DROP FUNCTION public.hybrid_search(extensions.vector, text, int, float);
DROP INDEX public.meeting_knowledge_meeting_kind_idx;
DROP INDEX public.meeting_knowledge_search_text_idx;
DROP INDEX public.meeting_knowledge_keywords_idx;
DROP INDEX public.meeting_knowledge_embedding_idx;
ALTER TABLE public.meeting_knowledge
  DROP COLUMN search_text,
  DROP COLUMN keywords,
  DROP COLUMN embedding;
DROP EXTENSION vector;
