ALTER PUBLICATION supabase_realtime DROP TABLE public.meetings, public.meeting_participants;
DROP TABLE public.meeting_knowledge;
DROP TABLE public.meeting_participants;
DROP TABLE public.meetings;
DROP FUNCTION public.can_see_meeting(uuid);
DROP FUNCTION public.set_updated_at();
