ALTER PUBLICATION supabase_realtime DROP TABLE public.projects, public.project_members;
DROP POLICY "project members see project meetings" ON public.meetings;
ALTER TABLE public.meetings DROP COLUMN project_id;
DROP TABLE public.project_members;
DROP TABLE public.projects;
DROP FUNCTION public.project_role(uuid);
DROP FUNCTION public.add_project_owner();
