-- Vector search for RAG
--
-- - 1536-dimensional embeddings (OpenAI text-embedding-3-small) on meeting_knowledge
-- - IVFFlat index for approximate nearest neighbours, GIN for keywords and full text
-- - hybrid_search(): vector similarity blended with keyword and full-text rank,
--   under the caller's RLS

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;

ALTER TABLE public.meeting_knowledge
  ADD COLUMN embedding extensions.vector(1536),
  ADD COLUMN keywords text[] NOT NULL DEFAULT '{}',
  ADD COLUMN search_text tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;

CREATE INDEX meeting_knowledge_embedding_idx ON public.meeting_knowledge
  USING ivfflat (embedding extensions.vector_cosine_ops) WITH (lists = 100);
CREATE INDEX meeting_knowledge_keywords_idx ON public.meeting_knowledge USING gin (keywords);
CREATE INDEX meeting_knowledge_search_text_idx ON public.meeting_knowledge USING gin (search_text);
CREATE INDEX meeting_knowledge_meeting_kind_idx ON public.meeting_knowledge (meeting_id, kind, created_at DESC);

CREATE FUNCTION public.hybrid_search(
  query_embedding extensions.vector(1536),
  query_text text,
  match_count int DEFAULT 10,
  vector_weight float DEFAULT 0.7
) RETURNS TABLE (id uuid, meeting_id uuid, content text, score float)
  LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT k.id, k.meeting_id, k.content,
         vector_weight * (1 - (k.embedding OPERATOR(extensions.<=>) query_embedding))
         + (1 - vector_weight) * (
             pg_catalog.ts_rank(k.search_text, pg_catalog.plainto_tsquery('english', query_text))
             + CASE WHEN k.keywords && pg_catalog.regexp_split_to_array(pg_catalog.lower(query_text), '\s+') THEN 0.5 ELSE 0 END
           ) AS score
    FROM public.meeting_knowledge k
   WHERE k.embedding IS NOT NULL
   ORDER BY score DESC
   LIMIT match_count
$$;
