-- Project team support
--
-- - projects (multi-tenant) and project_members with roles
-- - meetings belong to a project (optional, so existing meetings stay valid)
-- - a trigger makes a project's creator its owner
-- - RLS by membership

CREATE TABLE public.projects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  owner_id uuid NOT NULL DEFAULT auth.uid() REFERENCES auth.users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.project_members (
  project_id uuid NOT NULL REFERENCES public.projects (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id)
);

ALTER TABLE public.meetings ADD COLUMN project_id uuid REFERENCES public.projects (id) ON DELETE SET NULL;

CREATE INDEX projects_owner_id_idx ON public.projects (owner_id);
CREATE INDEX project_members_user_id_idx ON public.project_members (user_id);
CREATE INDEX meetings_project_id_idx ON public.meetings (project_id);

CREATE TRIGGER projects_set_updated_at BEFORE UPDATE ON public.projects
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- The creator of a project becomes its owner.
CREATE FUNCTION public.add_project_owner() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.project_members (project_id, user_id, role) VALUES (NEW.id, NEW.owner_id, 'owner');
  RETURN NEW;
END;
$$;
CREATE TRIGGER projects_add_owner AFTER INSERT ON public.projects
  FOR EACH ROW EXECUTE FUNCTION public.add_project_owner();

CREATE FUNCTION public.project_role(p uuid) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT role FROM public.project_members WHERE project_id = p AND user_id = auth.uid()
$$;

ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.project_members ENABLE ROW LEVEL SECURITY;

CREATE POLICY "members see their projects" ON public.projects
  FOR SELECT TO authenticated USING (public.project_role(id) IS NOT NULL);
CREATE POLICY "signed-in users create projects" ON public.projects
  FOR INSERT TO authenticated WITH CHECK (owner_id = auth.uid());
CREATE POLICY "owners and admins update projects" ON public.projects
  FOR UPDATE TO authenticated USING (public.project_role(id) IN ('owner', 'admin'));
CREATE POLICY "owners delete projects" ON public.projects
  FOR DELETE TO authenticated USING (public.project_role(id) = 'owner');
CREATE POLICY "members see the team" ON public.project_members
  FOR SELECT TO authenticated USING (public.project_role(project_id) IS NOT NULL);
CREATE POLICY "owners and admins manage the team" ON public.project_members
  FOR ALL TO authenticated USING (public.project_role(project_id) IN ('owner', 'admin'))
  WITH CHECK (public.project_role(project_id) IN ('owner', 'admin'));
CREATE POLICY "project members see project meetings" ON public.meetings
  FOR SELECT TO authenticated USING (project_id IS NOT NULL AND public.project_role(project_id) IS NOT NULL);

ALTER PUBLICATION supabase_realtime ADD TABLE public.projects, public.project_members;
