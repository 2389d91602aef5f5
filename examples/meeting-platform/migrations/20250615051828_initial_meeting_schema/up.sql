-- Initial meeting schema
--
-- - meetings, meeting_participants, meeting_knowledge
-- - RLS on every table, policies for signed-in users
-- - realtime for meetings and participants
-- - indexes on foreign keys and common filters

CREATE TABLE public.meetings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'live', 'ended', 'cancelled')),
  starts_at timestamptz,
  ended_at timestamptz,
  created_by uuid NOT NULL DEFAULT auth.uid() REFERENCES auth.users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.meeting_participants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  meeting_id uuid NOT NULL REFERENCES public.meetings (id) ON DELETE CASCADE,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  email text NOT NULL,
  display_name text,
  role text NOT NULL DEFAULT 'attendee' CHECK (role IN ('host', 'attendee', 'observer')),
  joined_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.meeting_knowledge (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  meeting_id uuid NOT NULL REFERENCES public.meetings (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('transcript', 'summary', 'note', 'action_item')),
  content text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX meetings_created_by_idx ON public.meetings (created_by);
CREATE INDEX meetings_starts_at_idx ON public.meetings (starts_at);
CREATE INDEX meeting_participants_meeting_id_idx ON public.meeting_participants (meeting_id);
CREATE INDEX meeting_participants_user_id_idx ON public.meeting_participants (user_id);
CREATE INDEX meeting_knowledge_meeting_id_idx ON public.meeting_knowledge (meeting_id);

CREATE FUNCTION public.set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;

CREATE TRIGGER meetings_set_updated_at BEFORE UPDATE ON public.meetings
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER meeting_participants_set_updated_at BEFORE UPDATE ON public.meeting_participants
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER meeting_knowledge_set_updated_at BEFORE UPDATE ON public.meeting_knowledge
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE public.meetings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.meeting_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.meeting_knowledge ENABLE ROW LEVEL SECURITY;

-- A meeting is visible to its creator and its participants.
CREATE FUNCTION public.can_see_meeting(m uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT EXISTS (SELECT 1 FROM public.meetings WHERE id = m AND created_by = auth.uid())
      OR EXISTS (SELECT 1 FROM public.meeting_participants WHERE meeting_id = m AND user_id = auth.uid())
$$;

CREATE POLICY "meetings are visible to creator and participants" ON public.meetings
  FOR SELECT TO authenticated USING (public.can_see_meeting(id));
CREATE POLICY "creators manage their meetings" ON public.meetings
  FOR ALL TO authenticated USING (created_by = auth.uid()) WITH CHECK (created_by = auth.uid());
CREATE POLICY "participants are visible within the meeting" ON public.meeting_participants
  FOR SELECT TO authenticated USING (public.can_see_meeting(meeting_id));
CREATE POLICY "knowledge is visible within the meeting" ON public.meeting_knowledge
  FOR SELECT TO authenticated USING (public.can_see_meeting(meeting_id));

ALTER PUBLICATION supabase_realtime ADD TABLE public.meetings, public.meeting_participants;
